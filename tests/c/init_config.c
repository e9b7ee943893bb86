/*
 * init_config.c - demi_init's backend selection (LIBOS) and configuration (CONFIG_PATH) errors.
 * A failed demi_init leaves nothing behind, so one process tries them all, then succeeds with a
 * configuration whose tcp_socket_options (all but linger) must show up on new TCP sockets.
 */
#include <demi/libos.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include "check.h"

static char dir[] = "/tmp/demi-init-XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror("fopen");
        exit(2);
    }
    fputs(text, f);
    fclose(f);
    return path;
}

int main(void)
{
    int qd = -1;
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 2;
    }

    /* Unknown and unavailable libOSes. */
    setenv("LIBOS", "bogus", 1);
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("LIBOS", "catnip", 1); /* DPDK: needs CONFIG_PATH with dpdk.eal_init */
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("LIBOS", "catloop", 1);
    CHECK_ERR(demi_init(NULL), ENOTSUP);
    CHECK_ERR(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), ENOSYS); /* failed init: still uninitialized */
    setenv("LIBOS", "catnap", 1);

    /* Missing and bad configuration files. */
    setenv("CONFIG_PATH", "/nonexistent/demi/config.yaml", 1);
    CHECK_ERR(demi_init(NULL), ENOENT);
    setenv("CONFIG_PATH", write_file("bad.yaml", "demikernel: [unclosed\n  local_ipv4_addr: : :\n"), 1);
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("CONFIG_PATH", write_file("list.yaml", "- just\n- a list\n"), 1);
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("CONFIG_PATH", write_file("empty.yaml", ""), 1);
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("CONFIG_PATH", write_file("badip.yaml", "demikernel:\n  local_ipv4_addr: 300.1.2.3\n"), 1);
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("CONFIG_PATH", write_file("badmac.yaml", "demikernel:\n  local_link_addr: \"zz:00:00:00:00:01\"\n"), 1);
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("CONFIG_PATH", write_file("badmtu.yaml", "inetstack_config:\n  mtu: lots\n"), 1);
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("CONFIG_PATH", write_file("badeal.yaml", "dpdk:\n  eal_init: \"-c 0xff\"\n"), 1);
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("CONFIG_PATH", write_file("badcores.yaml", "demi:\n  cores: \"9999\"\n"), 1);
    CHECK_ERR(demi_init(NULL), EINVAL);
    setenv("CONFIG_PATH", dir, 1); /* a directory */
    CHECK(demi_init(NULL) != 0);
    CHECK_ERR(demi_socket(&qd, AF_INET, SOCK_DGRAM, 0), ENOSYS);

    /* A good file with Demikernel's keys (and an application section Demi ignores). */
    const char *good =
        "client:\n"
        "  connect_to: { host: 127.0.0.1, port: 12345 }\n"
        "demikernel:\n"
        "  local_ipv4_addr: 10.0.0.1\n"
        "  local_link_addr: \"02:00:00:00:00:01\"\n"
        "raw_socket:\n"
        "  linux_interface_name: veth0\n"
        "  xdp_interface_index: 0\n"
        "dpdk:\n"
        "  eal_init: [\"--no-huge\", \"-m\", \"512\"]\n"
        "tcp_socket_options:\n"
        "  keepalive: { enabled: true }\n"
        "  linger: { enabled: true, time_seconds: 3 }\n"
        "  nodelay: true\n"
        "inetstack_config:\n"
        "  mtu: 1500\n"
        "  mss: 1460\n"
        "  arp_table:\n"
        "    \"02:00:00:00:00:02\": 10.0.0.2\n"
        "  arp_request_retries: 2\n"
        "  arp_request_timeout: 1\n"
        "  arp_cache_ttl: 15\n"
        "  tcp_checksum_offload: false\n"
        "  udp_checksum_offload: false\n";
    setenv("CONFIG_PATH", write_file("good.yaml", good), 1);
    CHECK_ERR(demi_init(NULL), 0);
    CHECK_ERR(demi_init(NULL), EEXIST);

    /* tcp_socket_options were applied to a new TCP socket. */
    REQUIRE_OK(demi_socket(&qd, AF_INET, SOCK_STREAM, 0));
    int on = 0;
    socklen_t len = sizeof(on);
    CHECK_ERR(demi_getsockopt(qd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    CHECK(on != 0);
    on = 0;
    len = sizeof(on);
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
    CHECK(on != 0);
    struct linger l = {0, 0};
    len = sizeof(l);
    CHECK_ERR(demi_getsockopt(qd, SOL_SOCKET, SO_LINGER, &l, &len), 0);
    CHECK(l.l_onoff == 0); /* the file's linger is not applied: a close sends a FIN, as in Demikernel */
    CHECK_ERR(demi_close(qd), 0);

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_summary("init_config");
}
