// The least a splice(2) relay can do, as a floor for bench/compare.py: what ftplb's data path
// would cost with nothing of its own around it. One thread, edge-triggered epoll, one 1 MiB
// pipe per direction, the same splice calls as ftplb's relay; no FTP, no limits, no timeouts,
// no logging. It forwards ports one for one, as HAProxy is deployed for FTP in the benchmark.
//
//     minimal_splice_relay LISTEN_IP TARGET_IP PORT:TARGET_PORT [PORT:TARGET_PORT ...]
//
// A benchmark's helper, not a product: a connection that fails is simply closed.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define PIPE_SIZE (1 << 20)
#define MAX_LISTENERS 1024

struct direction {
    int from, to, pipe_read, pipe_write;
    long buffered;
    int input_ended, done;
};

struct relay {
    int client, server, closed;
    struct direction to_server, to_client;
    struct relay *next_closed;
};

static int listeners[MAX_LISTENERS];
static struct sockaddr_in targets[MAX_LISTENERS];
static int listener_count;

// Moves bytes one way until neither the socket nor the pipe can take more now.
static void pump(struct direction *d) {
    while (!d->done) {
        int progressed = 0;
        if (!d->input_ended && d->buffered < PIPE_SIZE) {
            ssize_t n = splice(d->from, NULL, d->pipe_write, NULL, PIPE_SIZE - d->buffered,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                d->buffered += n;
                progressed = 1;
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                d->input_ended = 1;
                progressed = 1;
            }
        }
        if (d->buffered > 0) {
            ssize_t n = splice(d->pipe_read, NULL, d->to, NULL, d->buffered, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (n > 0) {
                d->buffered -= n;
                progressed = 1;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                d->done = 1;
            }
        }
        if (d->input_ended && d->buffered == 0 && !d->done) {
            shutdown(d->to, SHUT_WR);
            d->done = 1;
        }
        if (!progressed) return;
    }
}

static int make_pipe(int fds[2]) {
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
    fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE);
    return 0;
}

// As ftplb (SwiftNIO) and HAProxy do: without it, Nagle's algorithm holds a short control
// reply back until the previous one is acknowledged, and sessions wait instead of working.
static void set_no_delay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Connects without waiting: until the connect completes, splice says EAGAIN on the server
// side, and the socket's first EPOLLOUT edge starts the relay.
static struct relay *start_relay(int epoll, int client, const struct sockaddr_in *target) {
    int server = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (server < 0 || (connect(server, (const struct sockaddr *)target, sizeof *target) != 0 && errno != EINPROGRESS)) {
        if (server >= 0) close(server);
        close(client);
        return NULL;
    }
    set_no_delay(client);
    set_no_delay(server);
    struct relay *r = calloc(1, sizeof *r);
    int up[2], down[2];
    if (!r || make_pipe(up) != 0) goto fail;
    if (make_pipe(down) != 0) {
        close(up[0]);
        close(up[1]);
        goto fail;
    }
    r->client = client;
    r->server = server;
    r->to_server = (struct direction){.from = client, .to = server, .pipe_read = up[0], .pipe_write = up[1]};
    r->to_client = (struct direction){.from = server, .to = client, .pipe_read = down[0], .pipe_write = down[1]};
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = r};
    epoll_ctl(epoll, EPOLL_CTL_ADD, client, &event);
    epoll_ctl(epoll, EPOLL_CTL_ADD, server, &event);
    return r;
fail:
    free(r);
    close(server);
    close(client);
    return NULL;
}

static void close_relay(struct relay *r) {
    close(r->client);
    close(r->server);
    close(r->to_server.pipe_read);
    close(r->to_server.pipe_write);
    close(r->to_client.pipe_read);
    close(r->to_client.pipe_write);
    r->closed = 1;
}

static int parse_target(const char *spec, const char *listen_ip, const char *target_ip, int epoll) {
    int port, target_port;
    if (sscanf(spec, "%d:%d", &port, &target_port) != 2 || listener_count == MAX_LISTENERS) return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
    struct sockaddr_in target = {.sin_family = AF_INET, .sin_port = htons(target_port)};
    if (inet_pton(AF_INET, listen_ip, &address.sin_addr) != 1 || inet_pton(AF_INET, target_ip, &target.sin_addr) != 1)
        return -1;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 1024) != 0) {
        perror(spec);
        return -1;
    }
    listeners[listener_count] = fd;
    targets[listener_count] = target;
    // Listener tokens are their index; relays are pointers, far above MAX_LISTENERS.
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = (uint64_t)listener_count};
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
    listener_count++;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s LISTEN_IP TARGET_IP PORT:TARGET_PORT...\n", argv[0]);
        return 2;
    }
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 3; i < argc; i++) {
        if (parse_target(argv[i], argv[1], argv[2], epoll) != 0) {
            fprintf(stderr, "cannot listen for %s\n", argv[i]);
            return 1;
        }
    }
    struct epoll_event events[64];
    for (;;) {
        int count = epoll_wait(epoll, events, 64, -1);
        // Relays closed in this batch are freed after it: a later event may still name them.
        struct relay *closed = NULL;
        for (int i = 0; i < count; i++) {
            uint64_t token = events[i].data.u64;
            if (token < MAX_LISTENERS) {
                int client;
                while ((client = accept4(listeners[token], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct relay *r = start_relay(epoll, client, &targets[token]);
                    if (r) {
                        pump(&r->to_server);
                        pump(&r->to_client);
                    }
                }
                continue;
            }
            struct relay *r = events[i].data.ptr;
            if (r->closed) continue;
            pump(&r->to_server);
            pump(&r->to_client);
            if (r->to_server.done && r->to_client.done) {
                close_relay(r);
                r->next_closed = closed;
                closed = r;
            }
        }
        while (closed) {
            struct relay *next = closed->next_closed;
            free(closed);
            closed = next;
        }
    }
}
