#define _GNU_SOURCE
#include "CSplice.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <errno.h>
#include <unistd.h>

_Static_assert(sizeof(csplice_tcp_info) >= sizeof(struct tcp_info), "csplice_tcp_info holds struct tcp_info");

int csplice_tcp_info_read(int fd, csplice_tcp_info *info) {
    memset(info, 0, sizeof(*info));
    socklen_t length = sizeof(*info);
    return getsockopt(fd, IPPROTO_TCP, TCP_INFO, info, &length);
}

uint64_t csplice_tcp_info_bytes_acked(const csplice_tcp_info *info) {
    return ((const struct tcp_info *)(const void *)info)->tcpi_bytes_acked;
}

int csplice_pipe(int fds[2]) { return pipe2(fds, O_NONBLOCK | O_CLOEXEC); }

int csplice_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

int csplice_pipe_size(int fd) { return fcntl(fd, F_GETPIPE_SZ); }

long csplice_splice(int from, int to, unsigned long length) {
    return (long)splice(from, NULL, to, NULL, length, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

int csplice_tcp_socket(int family) { return socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

int csplice_accept(int fd, void *address, uint32_t *length) {
    _Static_assert(sizeof(socklen_t) == sizeof(uint32_t), "socklen_t is 32 bits");
    return accept4(fd, (struct sockaddr *)address, (socklen_t *)length, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int csplice_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int csplice_epoll_add(int epoll, int fd, uint64_t token) {
    struct epoll_event event = {0};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = token;
    return epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
}

int csplice_epoll_wait(int epoll, uint64_t *tokens, uint32_t *events, int capacity, int timeout_ms) {
    struct epoll_event ready[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epoll, ready, capacity, timeout_ms);
    for (int i = 0; i < count; i++) {
        tokens[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return count;
}

const uint32_t csplice_event_in = EPOLLIN;
const uint32_t csplice_event_out = EPOLLOUT;
const uint32_t csplice_event_error = EPOLLERR;
const uint32_t csplice_event_hangup = EPOLLHUP;
const uint32_t csplice_event_peer_closed = EPOLLRDHUP;

int csplice_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

int csplice_eventfd_signal(int fd) { return eventfd_write(fd, 1); }

int csplice_eventfd_drain(int fd) {
    eventfd_t value;
    return eventfd_read(fd, &value);
}

int csplice_name_thread(unsigned long thread, const char *name) {
    _Static_assert(sizeof(pthread_t) == sizeof(unsigned long), "pthread_t is an unsigned long");
    return pthread_setname_np((pthread_t)thread, name);
}

int csplice_syn_watch_socket(uint32_t address, uint16_t low, uint16_t high) {
    // Loads are relative to the IPv4 header; BPF reads them in network order as host integers.
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16),             // 0: destination address
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, address, 0, 10),
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),              // 2: fragment offset: only first fragments
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 8, 0),
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),             // 4: X = IPv4 header length
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13),             // 5: TCP flags
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),          // 6: SYN and ACK
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 4),    // 7: a SYN alone
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),              // 8: destination port
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, low, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, high, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, 64),                      // 11: keep the headers
        BPF_STMT(BPF_RET | BPF_K, 0),                       // 12: drop
    };
    struct sock_fprog program = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
    int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    // What arrived before the filter was attached is anything at all: drop it.
    char discard[64];
    while (recv(fd, discard, sizeof(discard), MSG_DONTWAIT) >= 0) {}
    return fd;
}

int csplice_wait_readable(int fd, int wakeup, int timeout_ms) {
    struct pollfd fds[2] = {{.fd = wakeup, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int ready = poll(fds, 2, timeout_ms);
    if (ready <= 0) return ready;
    if (fds[0].revents) return 2;
    return 1;
}
