/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ofagent_internal.h — what ofagent.c (sessions, requests, async messages,
 * controllers) and ofagent_mp.c (multipart replies) share. Not a public
 * header.
 */
#ifndef SW_OFAGENT_INTERNAL_H
#define SW_OFAGENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "ofagent.h"
#include "ofp_msg.h"

#define MAX_CONTROLLERS 8
#define DEFAULT_MISS_SEND_LEN 128
#define ACTION_TEXT_MAX 16384

/* Port description bits (same in 1.0 and 1.3). */
#define OFPPS_LINK_DOWN 1u
#define OFPPF_10GB_FD (1u << 6)
#define OFPPF_COPPER_10 (1u << 7)    /* 1.0 */
#define OFPPF_COPPER_13 (1u << 11)   /* 1.3 */
#define OFPPR_ADD 0
#define OFPPR_DELETE 1
#define OFPPR_MODIFY 2
/* Capabilities. */
#define OFPC_FLOW_STATS 1u
#define OFPC_TABLE_STATS 2u
#define OFPC_PORT_STATS 4u
#define OFPC_GROUP_STATS 8u   /* 1.3 */
/* Port config bits a port-mod may change, per version. */
#define PC_BITS_10 (SW_PC_PORT_DOWN | SW_PC_NO_RECV | SW_PC_NO_FLOOD | SW_PC_NO_FWD | \
                    SW_PC_NO_PACKET_IN)
#define PC_BITS_13 (SW_PC_PORT_DOWN | SW_PC_NO_RECV | SW_PC_NO_FWD | SW_PC_NO_PACKET_IN)
/* Async message reasons (bit per reason). */
#define ASYNC_ALL 0xffffffffu

struct session {
    struct sw_ofagent *a;
    struct ofp_conn *c;          /* NULL: capture (sw_ofagent_handle) */
    struct ofp_buf *capture;
    uint8_t version;
    bool controller;             /* an active channel to a controller */
    bool snoop;                  /* on the snoop listener */
    bool async_set;              /* the peer configured async (set-async) */
    bool wants_packet_in;        /* tools: after set-config or set-async */
    struct ofp_async_config async;
    uint16_t miss_send_len;
    uint16_t config_flags;
    struct session *next;
};

struct controller {
    char target[128];
    bool passive;
    struct ofp_conn *c;          /* active */
    struct ofp_listener *l;      /* passive */
};

struct port_snap {
    uint32_t ofport;
    char name[64];
    uint32_t config;
    bool link_up;
};

struct sw_ofagent {
    char name[64];
    char sw_version[64];
    struct sw_ofproto *ofp;
    struct sw_dpif *dpif;
    struct kk_reactor *r;
    uint64_t dpid;
    uint32_t versions;
    char *mgmt_path, *snoop_path;
    struct ofp_listener *mgmt, *snoop;
    struct ofp_role_group *roles;
    struct controller ctl[MAX_CONTROLLERS];
    unsigned n_ctl;
    enum sw_fail_mode fail_mode;
    struct session *sessions;
    unsigned n_snoopers;
    struct port_snap *ports;
    unsigned n_ports;
    bool ports_known;
    void (*changed)(void *arg, unsigned what);
    void (*sync)(void *arg, bool stats);
    bool (*port_mac)(void *arg, uint32_t ofport, uint8_t mac[6]);
    void *arg;
    struct ofp_buf out;          /* encoding scratch */
    char text[ACTION_TEXT_MAX];  /* action text scratch (build_actions) */
};

/* A bridge's ports, copied (sw_ofproto_port_foreach). */
struct port_list {
    struct sw_port_info *p;
    unsigned n;
};

/* Sending (ofagent.c): encode and send @m; an error reply for a request;
 * a multipart reply of @n entries of @size bytes split at 64 KiB; the
 * header of a reply in the session's version. */
int oa_send_msg(struct session *s, struct ofp_msg *m, bool droppable);
void oa_send_error(struct session *s, uint32_t xid, enum ofp_err e, const void *req, size_t len);
void oa_send_multipart(struct session *s, uint32_t xid, uint16_t type, void *items, size_t n,
                       size_t size);
void oa_init_reply(struct ofp_msg *m, const struct session *s, enum ofp_msg_type type,
                   uint32_t xid);

/* Ports (ofagent.c): the list (free l->p), a port's description for
 * @version, lookup by number. */
int oa_ports_get(struct sw_ofagent *a, struct port_list *l);
void oa_port_desc(struct sw_ofagent *a, uint8_t version, const struct sw_port_info *p,
                  struct ofp_port *o);
bool oa_port_exists(struct port_list *l, uint32_t ofport, struct sw_port_info **out);

/* Multipart requests (ofagent_mp.c). */
void oa_handle_multipart(struct session *s, const struct ofp_msg *m, const void *raw, size_t len);

#endif
