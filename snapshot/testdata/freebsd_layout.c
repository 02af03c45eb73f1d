/*
 * Layout check for snapshot/bsd_pcb.go and bsd_if.go: the FreeBSD 13.x/14.x
 * export structs, field types as in sys/sys/socketvar.h, sys/netinet/in_pcb.h,
 * sys/netinet/tcp_var.h, sys/sys/unpcb.h, sys/sys/file.h and sys/net/if.h
 * (spares folded into arrays of the same size). FreeBSD amd64/arm64 use the
 * same LP64 ABI rules as Linux x86-64, so any 64-bit cc checks them:
 *   cc -o /tmp/l snapshot/testdata/freebsd_layout.c && /tmp/l
 * must print snapshot/testdata/freebsd_layout.txt.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef uint64_t ksize_t, kvaddr_t;

struct xsockbuf { uint32_t sb_cc, sb_hiwat, sb_mbcnt, sb_mcnt, sb_ccnt, sb_mbmax; int32_t sb_lowat, sb_timeo; int16_t sb_flags; };
struct xsocket {
	ksize_t xso_len; kvaddr_t xso_so, so_pcb; uint64_t so_oobmark; int64_t so_spare64[8];
	int32_t xso_protocol, xso_family; uint32_t so_qlen, so_incqlen, so_qlimit; int32_t so_pgid; uint32_t so_uid;
	int32_t so_spare32[8]; int16_t so_type, so_options, so_linger, so_state, so_timeo; uint16_t so_error;
	struct xsockbuf so_rcv, so_snd;
};
union in_dependaddr { struct { uint8_t pad[12]; uint32_t a4; } id46_addr; uint8_t id6_addr[16]; };
struct in_endpoints { uint16_t ie_fport, ie_lport; union in_dependaddr ie_dependfaddr, ie_dependladdr; uint32_t ie6_zoneid; };
struct in_conninfo { uint8_t inc_flags, inc_len; uint16_t inc_fibnum; struct in_endpoints inc_ie; };
struct xinpcb {
	ksize_t xi_len; struct xsocket xi_socket; struct in_conninfo inp_inc; uint64_t inp_gencnt; kvaddr_t inp_ppcb;
	int64_t inp_spare64[4]; uint32_t inp_flow, inp_flowid, inp_flowtype; int32_t inp_flags, inp_flags2, inp_unused;
	int32_t in6p_cksum, inp_spare32[4]; uint16_t in6p_hops; uint8_t inp_ip_tos; int8_t pad8;
	uint8_t inp_vflag, inp_ip_ttl, inp_ip_p, inp_ip_minttl; int8_t inp_spare8[4];
} __attribute__((aligned(8)));
struct xinpgen { ksize_t xig_len; uint32_t xig_count, _xig_spare32; uint64_t xig_gen, xig_sogen, _xig_spare64[4]; } __attribute__((aligned(8)));
struct xtcpcb {
	ksize_t xt_len; struct xinpcb xt_inp; char xt_stack[32], xt_logid[64], xt_cc[16]; int64_t spare64[6];
	int32_t t_state; uint32_t t_flags; int32_t rest[10]; uint32_t rest14[9]; uint16_t xt_encaps_port; int16_t spare16; int32_t spare32[22];
} __attribute__((aligned(8)));
struct sockaddr_un { uint8_t sun_len, sun_family; char sun_path[104]; };
struct xunpcb {
	ksize_t xu_len; kvaddr_t xu_unpp, unp_vnode, unp_conn, xu_firstref, xu_nextref; uint64_t unp_gencnt;
	int64_t xu_spare64[8]; int32_t xu_spare32[8];
	union { struct sockaddr_un xu_addr; char xu_dummy1[256]; }; union { struct sockaddr_un xu_caddr; char xu_dummy2[256]; };
	struct xsocket xu_socket;
} __attribute__((aligned(8)));
struct xunpgen { ksize_t xug_len; unsigned xug_count; uint64_t xug_gen, xug_sogen; } __attribute__((aligned(8)));
struct xfile {
	ksize_t xf_size; int32_t xf_pid; uint32_t xf_uid; int32_t xf_fd, _p1; kvaddr_t xf_file; int16_t xf_type, _p2;
	int32_t xf_count, xf_msgcount, _p3; int64_t xf_offset; kvaddr_t xf_data, xf_vnode; uint32_t xf_flag; int32_t _p4; int64_t _p5[6];
};
struct if_data {
	uint8_t ifi_type, ifi_physical, ifi_addrlen, ifi_hdrlen, ifi_link_state, ifi_vhid; uint16_t ifi_datalen;
	uint32_t ifi_mtu, ifi_metric; uint64_t ifi_baudrate, ifi_ipackets, ifi_ierrors, ifi_opackets, ifi_oerrors, ifi_collisions,
	ifi_ibytes, ifi_obytes, ifi_imcasts, ifi_omcasts, ifi_iqdrops, ifi_oqdrops, ifi_noproto, ifi_hwassist, epoch, lastchange[2];
};
struct if_msghdrl { unsigned short ifm_msglen; unsigned char ifm_version, ifm_type; int ifm_addrs, ifm_flags;
	unsigned short ifm_index, _s1, ifm_len, ifm_data_off; int _s2; struct if_data ifm_data; };

#define P(s, f) printf("%s.%s %zu\n", #s, #f, offsetof(struct s, f))
#define S(s) printf("sizeof %s %zu\n", #s, sizeof(struct s))
int main(void) {
	S(xinpgen); S(xsocket); S(xinpcb); S(xtcpcb); S(xunpgen); S(xunpcb); S(xfile); S(if_data); S(if_msghdrl);
	P(xsocket, xso_so); P(xsocket, so_pcb); P(xsocket, xso_protocol); P(xsocket, so_qlen); P(xsocket, so_qlimit);
	P(xsocket, so_uid); P(xsocket, so_type); P(xsocket, so_rcv); P(xsocket, so_snd);
	P(xinpcb, inp_inc.inc_ie.ie_fport); P(xinpcb, inp_inc.inc_ie.ie_lport); P(xinpcb, inp_inc.inc_ie.ie_dependfaddr);
	P(xinpcb, inp_inc.inc_ie.ie_dependladdr); P(xinpcb, inp_gencnt); P(xinpcb, inp_ppcb); P(xinpcb, inp_flags); P(xinpcb, inp_vflag);
	P(xtcpcb, xt_inp); P(xtcpcb, t_state); P(xtcpcb, t_flags);
	P(xunpgen, xug_count); P(xunpgen, xug_gen);
	P(xunpcb, unp_vnode); P(xunpcb, unp_conn); P(xunpcb, xu_firstref); P(xunpcb, xu_nextref); P(xunpcb, unp_gencnt);
	P(xunpcb, xu_addr); P(xunpcb, xu_socket);
	P(xfile, xf_pid); P(xfile, xf_uid); P(xfile, xf_fd); P(xfile, xf_type); P(xfile, xf_data);
	P(if_data, ifi_datalen); P(if_data, ifi_mtu); P(if_data, ifi_ipackets); P(if_data, ifi_collisions); P(if_data, ifi_iqdrops);
	P(if_msghdrl, ifm_index); P(if_msghdrl, ifm_len); P(if_msghdrl, ifm_data_off); P(if_msghdrl, ifm_data);
	return 0;
}
