/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `kvmkit vsctl` — configure kvmkit-switchd's bridges, ports, bonds and
 * mirrors, with ovs-vsctl's command names. Settings are sent to the daemon
 * as KEY=VALUE strings, which the daemon checks (so it names a bad key or
 * value the same way whatever the client).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "switch_cli.h"

void vsctl_help(FILE *out)
{
    fprintf(out,
            "Usage: kvmkit vsctl [-s SOCKET] [--may-exist|--if-exists] COMMAND [ARGS...]\n"
            "\n"
            "Configure kvmkit-switchd: bridges, ports, bonds and mirrors. Every change is\n"
            "saved by the daemon and restored when it restarts.\n"
            "\n"
            "Bridges:\n"
            "  add-br BR                         create a bridge (a NORMAL learning switch)\n"
            "  del-br BR                         delete a bridge and its ports\n"
            "  list-br                           bridge names\n"
            "Ports:\n"
            "  add-port BR PORT [SETTING...]     add a port; SETTING is one of\n"
            "      type=T            afpacket (default: the kernel interface PORT), afxdp,\n"
            "                        tap (creates tap PORT), pcap, ring, vhost-user (the\n"
            "                        switch serves the socket), vhost-user-client (QEMU\n"
            "                        serves it; reconnects)\n"
            "      options:K=V       the type's options, e.g. options:path=/run/vm1.sock,\n"
            "                        options:queues=2, options:iface=eth1, options:rx=in.pcap\n"
            "      tag=N             access port in VLAN N (1-4095)\n"
            "      trunks=N,N...     trunk port carrying these VLANs (all when absent)\n"
            "      vlan_mode=M       access, trunk, native-tagged or native-untagged\n"
            "      ofport_request=N  OpenFlow port number to use\n"
            "  del-port [BR] PORT                remove a port (or a bond)\n"
            "  list-ports BR                     port names of a bridge\n"
            "  add-bond BR BOND IFACE IFACE... [SETTING...]\n"
            "      a bond of the interfaces (each an afpacket interface unless\n"
            "      options say otherwise); settings as for add-port, and\n"
            "      bond_mode=active-backup|balance-slb|balance-tcp\n"
            "      lacp=active|passive|off   other_config:lacp-time=fast|slow\n"
            "      other_config:bond-updelay=MS   other_config:bond-downdelay=MS\n"
            "      other_config:lacp-fallback-ab=true\n"
            "  set port PORT SETTING...          change tag, trunks, vlan_mode (tag=[] or\n"
            "                                    trunks=[] clears), bond_mode, lacp,\n"
            "                                    other_config:K=V\n"
            "Mirrors:\n"
            "  add-mirror BR NAME [select-src-port=P,...] [select-dst-port=P,...]\n"
            "             [select-vlan=N,...] [select-all] output-port=P\n"
            "  del-mirror BR NAME\n"
            "  list-mirrors BR\n"
            "Everything:\n"
            "  set-controller BR TARGET...       OpenFlow controllers of BR: tcp:IP[:PORT],\n"
            "                                    ssl:IP[:PORT], unix:PATH (the switch connects),\n"
            "                                    ptcp:[PORT][:IP], punix:PATH (it listens)\n"
            "  del-controller BR                 no controllers (the default NORMAL rule is back\n"
            "                                    in fail mode standalone)\n"
            "  get-controller BR                 the controller targets\n"
            "  list controller BR                controllers with connection state and role\n"
            "  set-fail-mode BR secure|standalone  no controller connected: keep the flows and\n"
            "                                    drop misses (secure) or act as a learning\n"
            "                                    switch (standalone, the default)\n"
            "  get-fail-mode BR / del-fail-mode BR\n"
            "  set bridge BR protocols=OpenFlow10,OpenFlow13   OpenFlow versions it speaks\n"
            "  show                              bridges, ports, bonds and mirrors\n"
            "\n"
            "Options:\n"
            "  -s, --socket PATH   kvmkit-switchd's control socket (default\n"
            "                      $KVMKIT_SWITCHD_SOCKET or " SWITCHD_DEFAULT_SOCKET ")\n"
            "      --may-exist     add-br/add-port/add-bond: no error if it exists\n"
            "      --if-exists     del-br/del-port/del-mirror: no error if it does not\n"
            "  -h, --help          show this help\n"
            "\n"
            "Example:\n"
            "  kvmkit vsctl add-br br0\n"
            "  kvmkit vsctl add-port br0 eth1\n"
            "  kvmkit vsctl add-port br0 vm1 type=vhost-user options:path=/run/vm1.sock tag=10\n"
            "  kvmkit vsctl add-bond br0 bond0 eth2 eth3 bond_mode=balance-slb lacp=active\n"
            "\n"
            "Exit status: 0 done, 1 the daemon refused (its message is printed),\n"
            "2 usage error, 3 the daemon could not be reached.\n");
}

/* KEY=VALUE words into a {key: value} object of strings. */
static int settings_into(json_t *obj, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i]) {
            fprintf(stderr, "kvmkit vsctl: expected KEY=VALUE, got '%s'\n", argv[i]);
            return -1;
        }
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i]), argv[i]);
        const char *v = eq + 1;
        /* ovs-vsctl quoting: options:path="/x" */
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
            json_object_set_new(obj, key, json_stringn(v + 1, n - 2));
        else
            json_object_set_new(obj, key, json_string(v));
    }
    return 0;
}

static void print_list(const char *key, const json_t *a, bool quote)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return;
    printf("        %s: [", key);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_integer(v))
            printf("%s%lld", i ? ", " : "", (long long)json_integer_value(v));
        else
            printf(quote ? "%s\"%s\"" : "%s%s", i ? ", " : "", json_string_value(v));
    }
    printf("]\n");
}

static void print_map(const char *indent, const char *key, const json_t *o)
{
    if (!json_is_object(o) || json_object_size(o) == 0)
        return;
    /* sorted, so that two shows of one configuration compare equal */
    const char **keys = calloc(json_object_size(o), sizeof(*keys));
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)o, k, v)
        keys[n++] = k;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    printf("%s%s: {", indent, key);
    for (size_t i = 0; i < n; i++)
        printf("%s%s=\"%s\"", i ? ", " : "", keys[i],
               json_string_value(json_object_get(o, keys[i])));
    printf("}\n");
    free(keys);
}

static void print_interface(const json_t *itf)
{
    printf("        Interface %s\n", json_string_value(json_object_get(itf, "name")));
    const char *type = json_string_value(json_object_get(itf, "type"));
    if (type && strcmp(type, "system") != 0)
        printf("            type: %s\n", type);
    print_map("            ", "options", json_object_get(itf, "options"));
}

static void print_show(const json_t *r)
{
    size_t i, j;
    json_t *br, *port, *m;
    json_array_foreach(json_object_get(r, "bridges"), i, br) {
        printf("Bridge %s\n", json_string_value(json_object_get(br, "name")));
        json_array_foreach(json_object_get(br, "ports"), j, port) {
            printf("    Port %s\n", json_string_value(json_object_get(port, "name")));
            json_t *tag = json_object_get(port, "tag");
            if (json_is_integer(tag))
                printf("        tag: %lld\n", (long long)json_integer_value(tag));
            print_list("trunks", json_object_get(port, "trunks"), false);
            const char *s = json_string_value(json_object_get(port, "vlan_mode"));
            if (s)
                printf("        vlan_mode: %s\n", s);
            s = json_string_value(json_object_get(port, "bond_mode"));
            if (s)
                printf("        bond_mode: %s\n", s);
            s = json_string_value(json_object_get(port, "lacp"));
            if (s)
                printf("        lacp: %s\n", s);
            print_map("        ", "other_config", json_object_get(port, "other_config"));
            size_t k;
            json_t *itf;
            json_array_foreach(json_object_get(port, "interfaces"), k, itf)
                print_interface(itf);
        }
        json_array_foreach(json_object_get(br, "mirrors"), j, m) {
            printf("    Mirror %s\n", json_string_value(json_object_get(m, "name")));
            if (json_is_true(json_object_get(m, "select_all")))
                printf("        select_all: true\n");
            print_list("select_src_port", json_object_get(m, "select_src_port"), false);
            print_list("select_dst_port", json_object_get(m, "select_dst_port"), false);
            print_list("select_vlan", json_object_get(m, "select_vlan"), false);
            printf("        output_port: %s\n",
                   json_string_value(json_object_get(m, "output_port")));
        }
    }
}

static int print_names(struct sw_cli *c, const char *method, json_t *params, const char *key)
{
    json_t *r;
    int rc = sw_cli_call(c, method, params, &r);
    if (rc)
        return rc;
    size_t i;
    json_t *v;
    json_array_foreach(r, i, v) {
        const char *name = json_is_string(v) ? json_string_value(v)
                                             : json_string_value(json_object_get(v, key));
        printf("%s\n", name ? name : "?");
    }
    json_decref(r);
    return 0;
}

static int add_mirror(struct sw_cli *c, json_t *p, int n, char **a)
{
    for (int i = 2; i < n; i++) {
        const char *arg = a[i];
        const char *eq = strchr(arg, '=');
        if (strcmp(arg, "select-all") == 0 || strcmp(arg, "select_all") == 0 ||
            strcmp(arg, "select-all=true") == 0 || strcmp(arg, "select_all=true") == 0) {
            json_object_set_new(p, "select_all", json_true());
            continue;
        }
        if (!eq) {
            fprintf(stderr, "kvmkit vsctl: add-mirror: expected KEY=VALUE, got '%s'\n", arg);
            return 2;
        }
        char key[64];
        snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
        for (char *k = key; *k; k++)
            if (*k == '-')
                *k = '_';
        const char *v = eq + 1;
        if (strcmp(key, "select_src_port") == 0 || strcmp(key, "select_dst_port") == 0) {
            json_object_set_new(p, key, sw_cli_str_list(v));
        } else if (strcmp(key, "select_vlan") == 0) {
            json_t *l = sw_cli_int_list("vsctl", "select-vlan", v);
            if (!l)
                return 2;
            json_object_set_new(p, key, l);
        } else if (strcmp(key, "output_port") == 0) {
            json_object_set_new(p, key, json_string(v));
        } else {
            fprintf(stderr,
                    "kvmkit vsctl: add-mirror: unknown setting '%s' (select-src-port, "
                    "select-dst-port, select-vlan, select-all, output-port)\n",
                    arg);
            return 2;
        }
    }
    return sw_cli_call(c, "mirror.add", p, NULL);
}

int vsctl_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"may-exist", no_argument, NULL, 'm'},
        {"if-exists", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct sw_cli c = {.tool = "vsctl", .socket = sw_cli_default_socket()};
    bool may_exist = false, if_exists = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "+s:h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            c.socket = optarg;
            break;
        case 'm':
            may_exist = true;
            break;
        case 'i':
            if_exists = true;
            break;
        case 'h':
            vsctl_help(stdout);
            return 0;
        default:
            vsctl_help(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        vsctl_help(stderr);
        return 2;
    }
    const char *cmd = argv[optind];
    int n = argc - optind - 1;
    char **a = argv + optind + 1;
    json_t *p = json_object();
    int rc = -1;

    if (may_exist)
        json_object_set_new(p, "may_exist", json_true());
    if (if_exists)
        json_object_set_new(p, "if_exists", json_true());

    if (strcmp(cmd, "add-br") == 0 && n == 1) {
        json_object_set_new(p, "name", json_string(a[0]));
        rc = sw_cli_call(&c, "bridge.add", p, NULL);
    } else if (strcmp(cmd, "del-br") == 0 && n == 1) {
        json_object_set_new(p, "name", json_string(a[0]));
        rc = sw_cli_call(&c, "bridge.del", p, NULL);
    } else if (strcmp(cmd, "list-br") == 0 && n == 0) {
        rc = print_names(&c, "bridge.list", p, "name");
    } else if (strcmp(cmd, "add-port") == 0 && n >= 2) {
        json_t *s = json_object();
        json_object_set_new(p, "bridge", json_string(a[0]));
        json_object_set_new(p, "name", json_string(a[1]));
        json_object_set_new(p, "settings", s);
        rc = settings_into(s, n - 2, a + 2) < 0 ? 2 : sw_cli_call(&c, "port.add", p, NULL);
        p = rc == 2 ? p : NULL;
    } else if (strcmp(cmd, "del-port") == 0 && (n == 1 || n == 2)) {
        if (n == 2)
            json_object_set_new(p, "bridge", json_string(a[0]));
        json_object_set_new(p, "name", json_string(a[n - 1]));
        rc = sw_cli_call(&c, "port.del", p, NULL);
    } else if (strcmp(cmd, "list-ports") == 0 && n == 1) {
        json_object_set_new(p, "bridge", json_string(a[0]));
        rc = print_names(&c, "port.list", p, "name");
    } else if (strcmp(cmd, "add-bond") == 0 && n >= 3) {
        json_t *members = json_array(), *s = json_object();
        json_object_set_new(p, "bridge", json_string(a[0]));
        json_object_set_new(p, "name", json_string(a[1]));
        json_object_set_new(p, "members", members);
        json_object_set_new(p, "settings", s);
        int i = 2;
        for (; i < n && !strchr(a[i], '='); i++)
            json_array_append_new(members, json_string(a[i]));
        if (json_array_size(members) < 2) {
            fprintf(stderr, "kvmkit vsctl: add-bond needs at least two interfaces\n");
            rc = 2;
        } else {
            rc = settings_into(s, n - i, a + i) < 0 ? 2 : sw_cli_call(&c, "bond.add", p, NULL);
            p = rc == 2 ? p : NULL;
        }
    } else if (strcmp(cmd, "set") == 0 && n >= 3 &&
               (strcmp(a[0], "port") == 0 || strcmp(a[0], "Port") == 0 ||
                strcmp(a[0], "interface") == 0 || strcmp(a[0], "Interface") == 0)) {
        json_t *s = json_object();
        json_object_set_new(p, "name", json_string(a[1]));
        json_object_set_new(p, "settings", s);
        rc = settings_into(s, n - 2, a + 2) < 0 ? 2 : sw_cli_call(&c, "port.set", p, NULL);
        p = rc == 2 ? p : NULL;
    } else if (strcmp(cmd, "add-mirror") == 0 && n >= 3) {
        json_object_set_new(p, "bridge", json_string(a[0]));
        json_object_set_new(p, "name", json_string(a[1]));
        rc = add_mirror(&c, p, n, a);
        p = rc == 2 ? p : NULL;
    } else if (strcmp(cmd, "del-mirror") == 0 && n == 2) {
        json_object_set_new(p, "bridge", json_string(a[0]));
        json_object_set_new(p, "name", json_string(a[1]));
        rc = sw_cli_call(&c, "mirror.del", p, NULL);
    } else if (strcmp(cmd, "list-mirrors") == 0 && n == 1) {
        json_object_set_new(p, "bridge", json_string(a[0]));
        rc = print_names(&c, "mirror.list", p, "name");
    } else if (strcmp(cmd, "set-controller") == 0 && n >= 1) {
        json_object_set_new(p, "bridge", json_string(a[0]));
        json_t *t = json_array();
        for (int i = 1; i < n; i++)
            json_array_append_new(t, json_string(a[i]));
        json_object_set_new(p, "targets", t);
        rc = sw_cli_call(&c, "controller.set", p, NULL);
    } else if (strcmp(cmd, "del-controller") == 0 && n == 1) {
        json_object_set_new(p, "bridge", json_string(a[0]));
        rc = sw_cli_call(&c, "controller.set", p, NULL);
    } else if ((strcmp(cmd, "get-controller") == 0 || strcmp(cmd, "get-fail-mode") == 0) &&
               n == 1) {
        json_object_set_new(p, "bridge", json_string(a[0]));
        json_t *r;
        rc = sw_cli_call(&c, "controller.get", p, &r);
        if (rc == 0) {
            if (cmd[4] == 'f') {
                printf("%s\n", json_string_value(json_object_get(r, "fail_mode")));
            } else {
                size_t i;
                json_t *v;
                json_array_foreach(json_object_get(r, "controllers"), i, v)
                    printf("%s\n", json_string_value(json_object_get(v, "target")));
            }
            json_decref(r);
        }
    } else if (strcmp(cmd, "set-fail-mode") == 0 && n == 2) {
        json_object_set_new(p, "bridge", json_string(a[0]));
        json_object_set_new(p, "mode", json_string(a[1]));
        rc = sw_cli_call(&c, "fail_mode.set", p, NULL);
    } else if (strcmp(cmd, "del-fail-mode") == 0 && n == 1) {
        json_object_set_new(p, "bridge", json_string(a[0]));
        rc = sw_cli_call(&c, "fail_mode.set", p, NULL);
    } else if (strcmp(cmd, "list") == 0 && n == 2 &&
               (strcmp(a[0], "controller") == 0 || strcmp(a[0], "Controller") == 0)) {
        json_object_set_new(p, "bridge", json_string(a[1]));
        json_t *r;
        rc = sw_cli_call(&c, "controller.get", p, &r);
        if (rc == 0) {
            sw_cli_print_json(r);
            json_decref(r);
        }
    } else if (strcmp(cmd, "set") == 0 && n >= 3 &&
               (strcmp(a[0], "bridge") == 0 || strcmp(a[0], "Bridge") == 0)) {
        json_object_set_new(p, "bridge", json_string(a[1]));
        rc = 2;
        for (int i = 2; i < n; i++) {
            const char *kv = a[i];
            if (strncmp(kv, "protocols=", 10) == 0) {
                json_object_set_new(p, "protocols", sw_cli_str_list(kv + 10));
                rc = sw_cli_call(&c, "protocols.set", p, NULL);
                p = json_pack("{s:s}", "bridge", a[1]);
            } else if (strncmp(kv, "fail_mode=", 10) == 0 || strncmp(kv, "fail-mode=", 10) == 0) {
                json_t *q = json_pack("{s:s, s:s}", "bridge", a[1], "mode", kv + 10);
                rc = sw_cli_call(&c, "fail_mode.set", q, NULL);
            } else {
                fprintf(stderr, "kvmkit vsctl: set bridge: unknown column in '%s' (protocols, "
                                "fail_mode)\n", kv);
                rc = 2;
            }
            if (rc)
                break;
        }
        json_decref(p);   /* the unused parameters of the next call (calls steal theirs) */
        p = NULL;
    } else if (strcmp(cmd, "show") == 0 && n == 0) {
        json_t *r;
        rc = sw_cli_call(&c, "show", p, &r);
        if (rc == 0) {
            print_show(r);
            json_decref(r);
        }
    } else {
        json_decref(p);
        fprintf(stderr, "kvmkit vsctl: unknown command or wrong arguments: %s\n"
                        "Run 'kvmkit vsctl --help' for the commands.\n", cmd);
        return 2;
    }
    if (rc == 2)
        json_decref(p);
    sw_cli_close(&c);
    return rc;
}
