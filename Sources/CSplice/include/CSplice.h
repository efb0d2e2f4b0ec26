#ifndef CSPLICE_H
#define CSPLICE_H

// What Swift's Glibc module leaves out: splice(2), pipe2, accept4, epoll and eventfd need
// _GNU_SOURCE or headers it does not import. Wrapped in small functions so that Swift sees
// plain integers and never the packed `struct epoll_event`. This header includes no system
// header but stdint.h: with _GNU_SOURCE here, types such as fd_set would differ from the
// Glibc module's and Swift would refuse both; _GNU_SOURCE is set in CSplice.c alone.

#include <stdint.h>

/// A nonblocking, close-on-exec pipe; 0 or -1 with errno.
int csplice_pipe(int fds[2]);
/// Sets a pipe's capacity (F_SETPIPE_SZ); the capacity in force, or -1 with errno.
int csplice_set_pipe_size(int fd, int size);
int csplice_pipe_size(int fd);
/// Moves up to `length` bytes between a socket and a pipe without blocking; bytes moved, 0 at
/// end of input, or -1 with errno.
long csplice_splice(int from, int to, unsigned long length);
/// A nonblocking, close-on-exec TCP socket of `family`.
int csplice_tcp_socket(int family);
/// accept4 with a nonblocking, close-on-exec result.
/// `address` is a `struct sockaddr_storage`, `length` a `socklen_t` holding its size.
int csplice_accept(int fd, void *address, uint32_t *length);

int csplice_epoll_create(void);
/// Watches `fd` edge-triggered for input, output, peer half-close, errors; `token` comes back.
int csplice_epoll_add(int epoll, int fd, uint64_t token);
/// Waits up to `timeout_ms`; fills `tokens` and `events`, returns the count or -1 with errno.
int csplice_epoll_wait(int epoll, uint64_t *tokens, uint32_t *events, int capacity, int timeout_ms);

/// Event bits, as epoll reports them.
extern const uint32_t csplice_event_in;
extern const uint32_t csplice_event_out;
extern const uint32_t csplice_event_error;
extern const uint32_t csplice_event_hangup;
extern const uint32_t csplice_event_peer_closed;

/// A nonblocking, close-on-exec eventfd for wakeups.
int csplice_eventfd(void);
int csplice_eventfd_signal(int fd);
int csplice_eventfd_drain(int fd);

/// Room for the kernel's `struct tcp_info` (232 bytes on Linux 6), which glibc's own
/// declaration cuts short of the fields read here. SwiftNIO's getsockopt fills it too.
typedef struct {
    uint64_t words[40];
} csplice_tcp_info;
/// TCP_INFO of a socket into `info`; 0 or -1 with errno.
int csplice_tcp_info_read(int fd, csplice_tcp_info *info);
/// tcpi_bytes_acked: the bytes the peer has acknowledged, counting the SYN of a connect().
uint64_t csplice_tcp_info_bytes_acked(const csplice_tcp_info *info);

/// Names a thread (a pthread_t; at most 15 characters), for ps and /proc.
int csplice_name_thread(unsigned long thread, const char *name);

/// A nonblocking raw IPv4 socket that receives a copy of each TCP SYN (without ACK) to
/// `address` (host byte order) at a port from `low` to `high`: a classic BPF filter drops
/// everything else in the kernel. Needs CAP_NET_RAW; -1 with errno otherwise.
int csplice_syn_watch_socket(uint32_t address, uint16_t low, uint16_t high);

/// Waits up to `timeout_ms` for `fd` or `wakeup` to become readable: 1 for `fd`, 2 for
/// `wakeup` (checked first), 0 on timeout, -1 with errno.
int csplice_wait_readable(int fd, int wakeup, int timeout_ms);

#endif
