/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofagent.h — a bridge's OpenFlow agent: the channels to its controllers
 * and management tools, and the OpenFlow 1.0/1.3 switch behind them.
 *
 * Design note
 * -----------
 * One agent per bridge (sw_ofproto), on the daemon's control reactor.
 * It owns:
 *   - active channels to the configured controllers (tcp:, ssl:, unix:;
 *     lib/openflow/conn.h reconnects them with backoff and keeps them alive
 *     with echo probes), sharing one role group (master election);
 *   - a management listener (punix:, like Open vSwitch's <bridge>.mgmt)
 *     for ovs-ofctl and `kvmkit ofctl`, and optional extra listeners
 *     (ptcp:/punix:/pssl: targets given as controllers);
 *   - a snoop listener (<bridge>.snoop): every message exchanged with a
 *     controller is copied to the tools connected there.
 * Each message is decoded by lib/openflow's codec and applied to the
 * bridge: flow, group, meter, port and table mods; multipart requests
 * (desc, flow, aggregate, table, table-features, port stats, port-desc,
 * queue, group, group-desc, group-features, meter, meter-config,
 * meter-features); packet-out; barrier; roles; get/set config and async.
 * Every refused message gets the specification's error type and code for
 * the channel's version, with the start of the offending message.
 *
 * Asynchronous messages: packet-ins (the controller action and, while an
 * OpenFlow 1.0 controller is connected, table misses) go to the channels
 * whose role and async configuration want them, dropped rather than
 * queued without bound when a channel is congested; flow-removed for rules
 * with send_flow_rem; port-status when ports come, go or change.
 *
 * Fail modes: `standalone` — while controllers are configured but none is
 * connected, the bridge is a learning switch (NORMAL for every packet,
 * the tables ignored: fail-open); `secure` — the flows stay as they are
 * and misses are dropped. This is Open vSwitch's behaviour, except that
 * fail-open starts as soon as the last controller connection is lost
 * (Open vSwitch waits some probe intervals).
 *
 * The switch does not buffer packets: packet-ins carry the whole frame
 * with buffer_id OFP_NO_BUFFER (and the rule's cookie), and a flow-mod or packet-out naming a
 * buffer gets OFPBRC_BUFFER_UNKNOWN (the flow-mod is applied).
 *
 * Threads: everything runs on the control reactor's thread, which also
 * owns the bridge's control operations.
 */
#ifndef SW_OFAGENT_H
#define SW_OFAGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dpif.h"
#include "ofproto.h"

struct kk_reactor;
struct sw_ofagent;

enum sw_fail_mode { SW_FAIL_STANDALONE = 0, SW_FAIL_SECURE };

/* What changed through OpenFlow (for the owner's saved configuration). */
#define SW_OFAGENT_RULES  0x1
#define SW_OFAGENT_GROUPS 0x2
#define SW_OFAGENT_METERS 0x4

struct sw_ofagent_settings {
    const char *name;              /* the bridge, for logs and the desc reply */
    struct sw_ofproto *ofp;
    struct sw_dpif *dpif;          /* port counters, packet-out (NULL: zero, not sent) */
    struct kk_reactor *reactor;    /* NULL: no channels (sw_ofagent_handle only) */
    uint64_t datapath_id;
    const char *mgmt_path;         /* punix: for tools, or NULL */
    const char *snoop_path;        /* punix: for snoopers, or NULL */
    uint32_t versions;             /* OFP_CONN_V* bitmap; 0: 1.0 and 1.3 */
    const char *sw_version;        /* for the desc reply */
    /* Hooks (may be NULL): */
    void (*changed)(void *arg, unsigned what);          /* SW_OFAGENT_* */
    /* the datapath follows the tables (barrier), and with @stats the rules'
     * counters follow the datapath (statistics requests) */
    void (*sync)(void *arg, bool stats);
    bool (*port_mac)(void *arg, uint32_t ofport, uint8_t mac[6]);
    void *arg;
};

/* Returns 0 and *out, or -errno (the management listener could not
 * start: logged). */
int sw_ofagent_create(const struct sw_ofagent_settings *s, struct sw_ofagent **out);
/* Close every channel and listener. Accepts NULL. */
void sw_ofagent_destroy(struct sw_ofagent *a);

/*
 * Replace the controllers: active targets (tcp:, ssl:, unix:) get a
 * channel, passive ones (ptcp:, punix:, pssl:) a listener. Targets kept
 * from the previous set keep their channel. Returns 0, or -EINVAL with
 * @err naming the bad target (nothing changed).
 */
int sw_ofagent_set_controllers(struct sw_ofagent *a, const char *const *targets, size_t n,
                               char *err, size_t errlen);
void sw_ofagent_set_fail_mode(struct sw_ofagent *a, enum sw_fail_mode mode);
/* Versions for channels made from now on (existing ones are reconnected). */
void sw_ofagent_set_versions(struct sw_ofagent *a, uint32_t versions);
unsigned sw_ofagent_n_controllers(const struct sw_ofagent *a);

/* Every 100 ms or so: port-status messages for port changes, fail-open. */
void sw_ofagent_run(struct sw_ofagent *a);

/*
 * A packet for the controllers (an SW_ODP_USERSPACE action with
 * SW_OFP_USERSPACE_CONTROLLER, its @cookie as xlate made it), received on
 * OpenFlow port @in_ofport. Control thread.
 */
void sw_ofagent_packet_in(struct sw_ofagent *a, uint32_t in_ofport, uint64_t cookie,
                          uint64_t rule_cookie, const void *frame, size_t len);

/* The bridge's flow-removed callback (struct sw_ofproto_settings). */
void sw_ofagent_flow_removed(void *agent, const struct sw_rule_info *rule, int reason);

struct sw_ofagent_controller {
    char target[128];
    bool connected;
    const char *role;              /* "master", "slave", "equal", "other" */
    const char *state;             /* ofp_conn_state_name() or "listening" */
    uint8_t version;
    char last_error[128];
    uint64_t msgs_in, msgs_out;
};
/* Call @fn for every configured controller. */
void sw_ofagent_controllers(struct sw_ofagent *a,
                            void (*fn)(void *arg, const struct sw_ofagent_controller *c),
                            void *arg);

/*
 * Handle one complete OpenFlow message as if it came on a management
 * channel of @version, writing the replies into @out (whole messages,
 * concatenated). For tests and the fuzz target: no socket involved.
 * Returns the number of reply bytes, or -ENOMEM.
 */
long sw_ofagent_handle(struct sw_ofagent *a, uint8_t version, const void *msg, size_t len,
                       void *out, size_t out_size);

#endif
