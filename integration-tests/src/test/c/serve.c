/* A minimal HTTP/1.1 server, one connection at a time: reads a request up to its blank line, answers
 * "200 hello" with Connection: close, closes, takes the next. The same source serves from wasm (the listening
 * socket krill preopened as fd 3, krill.io/listen) and natively (listening on the port given as argv[1]),
 * so the HTTP benchmark compares runtimes, not servers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#ifndef __wasi__
#include <netinet/in.h>
#include <signal.h>
#endif

static const char RESPONSE[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n";

static int listener(int argc, char **argv) {
#ifdef __wasi__
    (void)argc, (void)argv;
    return 3;
#else
    int port = argc > 1 ? atoi(argv[1]) : 8080, one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    signal(SIGPIPE, SIG_IGN);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0) {
        perror("serve: listen");
        exit(1);
    }
    return fd;
#endif
}

int main(int argc, char **argv) {
    int ls = listener(argc, argv);
    char buf[8192];
    for (;;) {
        int c = accept(ls, NULL, NULL);
        if (c < 0) {
            perror("serve: accept");
            return 1;
        }
        size_t have = 0;
        for (;;) {
            ssize_t n = recv(c, buf + have, sizeof buf - 1 - have, 0);
            if (n <= 0) break;
            have += (size_t)n;
            buf[have] = 0;
            if (strstr(buf, "\r\n\r\n") || have == sizeof buf - 1) break;
        }
        if (have > 0) send(c, RESPONSE, sizeof RESPONSE - 1, 0);
        shutdown(c, SHUT_RDWR);
        close(c);
    }
}
