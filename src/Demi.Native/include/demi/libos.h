/*
 * demi/libos.h - the Demikernel C API, implemented by Demi's libdemi.so.
 *
 * Every function returns 0 or a positive Linux errno. Calls made before demi_init return ENOSYS.
 * Unlike Demikernel, every function is thread-safe.
 *
 * Link with -ldemi. Select the backend with the environment variable LIBOS (catnap = Linux kernel
 * sockets, the default; catpowder = AF_XDP; catnip = DPDK) and configure it with CONFIG_PATH, a
 * YAML file with Demikernel's keys.
 */
#ifndef DEMI_LIBOS_H_IS_INCLUDED
#define DEMI_LIBOS_H_IS_INCLUDED

#include <sys/socket.h>
#include <demi/types.h>
#include <demi/sga.h>
#include <demi/wait.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Initializes the libOS. EEXIST if already initialized; ENOTSUP for a backend that is not available;
 *  EINVAL for an unknown LIBOS or a bad CONFIG_PATH file; ENOENT when CONFIG_PATH names no file. */
extern int demi_init(const struct demi_args *args);

/** Creates a socket queue: AF_INET with SOCK_STREAM or SOCK_DGRAM, else ENOTSUP. */
extern int demi_socket(int *sockqd_out, int domain, int type, int protocol);

/** Binds a socket to a struct sockaddr_in (EINVAL for another size or family; EBADF; EADDRINUSE). */
extern int demi_bind(int sockqd, const struct sockaddr *addr, socklen_t size);

/** Marks a stream socket as listening (EINVAL for a backlog outside [1, SOMAXCONN]; EDESTADDRREQ if unbound). */
extern int demi_listen(int sockqd, int backlog);

/** Accepts a connection asynchronously; the result's qr_value.ares names the new queue. */
extern int demi_accept(demi_qtoken_t *qt_out, int sockqd);

/** Connects a socket asynchronously to a struct sockaddr_in. */
extern int demi_connect(demi_qtoken_t *qt_out, int sockqd, const struct sockaddr *addr, socklen_t size);

/**
 * Closes a queue; its pending operations complete as failed with ECANCELED. EBADF for any qd that is
 * not open (never opened, closed, negative). demi_close(3) names that condition under both EINVAL and
 * EBADF; Demi answers as Linux close(2) does, EBADF, and never EINVAL.
 */
extern int demi_close(int qd);

/** Pushes a scatter-gather array on a connected socket or a memory queue. EINVAL: NULL qt_out or sga, not a
 *  live array, a segment count other than 1, a zero-length segment or one outside its allocation.
 *  EBADF: not an open queue (checked first). EAGAIN: no token. */
extern int demi_push(demi_qtoken_t *qt_out, int qd, const demi_sgarray_t *sga);

/**
 * Pushes a scatter-gather array to `dest_addr`: a datagram on UDP; on a connected TCP socket the
 * address is ignored. EINVAL: NULL or non-AF_INET dest_addr, size != sizeof(struct sockaddr_in),
 * NULL sga, no segments, a zero-length segment. EBADF: not an open socket. EAGAIN: no token.
 */
extern int demi_pushto(demi_qtoken_t *qt_out, int sockqd, const demi_sgarray_t *sga,
                       const struct sockaddr *dest_addr, socklen_t size);

/** Pops data asynchronously; the popped array is the application's to free. On TCP, a zero-length pop is end of stream.
 *  EINVAL: NULL qt_out. EBADF: not an open queue. EAGAIN: no token. */
extern int demi_pop(demi_qtoken_t *qt_out, int qd);

/** Sets a socket option (SOL_SOCKET: SO_LINGER, SO_KEEPALIVE; IPPROTO_TCP: TCP_NODELAY). EBADF: not an open
 *  socket. ENOTSUP: a level other than SOL_SOCKET and IPPROTO_TCP. ENOPROTOOPT: an option the level does
 *  not have. EINVAL: NULL optval or an optlen too small for the option. */
extern int demi_setsockopt(int qd, int level, int optname, const void *optval, socklen_t optlen);

/** Reads a socket option; *optlen is the buffer size on entry and the value's size on return. Errors as
 *  demi_setsockopt; EINVAL also for a NULL optlen. */
extern int demi_getsockopt(int qd, int level, int optname, void *optval, socklen_t *optlen);

/** The peer of a connected stream socket. *addrlen must be sizeof(struct sockaddr_in) (else EINVAL). */
extern int demi_getpeername(int qd, struct sockaddr *addr, socklen_t *addrlen);

#ifdef __cplusplus
}
#endif

#endif /* DEMI_LIBOS_H_IS_INCLUDED */
