//! SNMP counters: the per-namespace statistics `nstat`, `netstat -s` and
//! `/proc/net/snmp`, `/proc/net/snmp6`, `/proc/net/netstat` show.
//!
//! In the kernel they are per-CPU arrays in `struct netns_mib`
//! (`include/net/netns/mib.h`), bumped with `__IP_INC_STATS`,
//! `__UDP_INC_STATS` and friends, and named in `snmp4_ipstats_list` etc.
//! (`net/ipv4/proc.c`). Here each namespace has one array; the names are the
//! ones `nstat` prints (table name + field name), in `nstat`'s order.
//!
//! Named after `include/net/snmp.h`, which defines the MIB arrays.

macro_rules! mibs {
    ($($v:ident = $name:literal,)*) => {
        /// One counter. Variants are in the order `nstat -a` lists them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Mib { $($v,)* }

        impl Mib {
            /// Every modelled counter, in `nstat`'s order.
            pub const ALL: &'static [Mib] = &[$(Mib::$v,)*];

            /// The name `nstat` prints, e.g. `UdpRcvbufErrors`.
            pub fn name(self) -> &'static str {
                match self { $(Mib::$v => $name,)* }
            }
        }
    };
}

mibs! {
    IpInReceives = "IpInReceives",
    IpInHdrErrors = "IpInHdrErrors",
    IpInAddrErrors = "IpInAddrErrors",
    IpInUnknownProtos = "IpInUnknownProtos",
    IpInDiscards = "IpInDiscards",
    IpInDelivers = "IpInDelivers",
    IpOutRequests = "IpOutRequests",
    IpOutDiscards = "IpOutDiscards",
    IpOutNoRoutes = "IpOutNoRoutes",
    IpReasmReqds = "IpReasmReqds",
    IpReasmOKs = "IpReasmOKs",
    IpReasmFails = "IpReasmFails",
    IpFragOKs = "IpFragOKs",
    IpFragCreates = "IpFragCreates",
    IpOutTransmits = "IpOutTransmits",
    IcmpInMsgs = "IcmpInMsgs",
    IcmpInErrors = "IcmpInErrors",
    IcmpInCsumErrors = "IcmpInCsumErrors",
    IcmpInDestUnreachs = "IcmpInDestUnreachs",
    IcmpInEchos = "IcmpInEchos",
    IcmpInEchoReps = "IcmpInEchoReps",
    IcmpOutMsgs = "IcmpOutMsgs",
    IcmpOutRateLimitHost = "IcmpOutRateLimitHost",
    IcmpOutDestUnreachs = "IcmpOutDestUnreachs",
    IcmpOutEchos = "IcmpOutEchos",
    IcmpOutEchoReps = "IcmpOutEchoReps",
    IcmpMsgInType0 = "IcmpMsgInType0",
    IcmpMsgInType3 = "IcmpMsgInType3",
    IcmpMsgInType8 = "IcmpMsgInType8",
    IcmpMsgOutType0 = "IcmpMsgOutType0",
    IcmpMsgOutType3 = "IcmpMsgOutType3",
    IcmpMsgOutType8 = "IcmpMsgOutType8",
    TcpActiveOpens = "TcpActiveOpens",
    TcpPassiveOpens = "TcpPassiveOpens",
    TcpAttemptFails = "TcpAttemptFails",
    TcpEstabResets = "TcpEstabResets",
    TcpInSegs = "TcpInSegs",
    TcpOutSegs = "TcpOutSegs",
    TcpRetransSegs = "TcpRetransSegs",
    TcpInErrs = "TcpInErrs",
    TcpOutRsts = "TcpOutRsts",
    TcpInCsumErrors = "TcpInCsumErrors",
    UdpInDatagrams = "UdpInDatagrams",
    UdpNoPorts = "UdpNoPorts",
    UdpInErrors = "UdpInErrors",
    UdpOutDatagrams = "UdpOutDatagrams",
    UdpRcvbufErrors = "UdpRcvbufErrors",
    UdpSndbufErrors = "UdpSndbufErrors",
    UdpInCsumErrors = "UdpInCsumErrors",
    Ip6InReceives = "Ip6InReceives",
    Ip6InHdrErrors = "Ip6InHdrErrors",
    Ip6InNoRoutes = "Ip6InNoRoutes",
    Ip6InAddrErrors = "Ip6InAddrErrors",
    Ip6InUnknownProtos = "Ip6InUnknownProtos",
    Ip6InTruncatedPkts = "Ip6InTruncatedPkts",
    Ip6InDelivers = "Ip6InDelivers",
    Ip6OutRequests = "Ip6OutRequests",
    Ip6OutNoRoutes = "Ip6OutNoRoutes",
    Ip6OutTransmits = "Ip6OutTransmits",
    Icmp6InMsgs = "Icmp6InMsgs",
    Icmp6InErrors = "Icmp6InErrors",
    Icmp6OutMsgs = "Icmp6OutMsgs",
    Icmp6InDestUnreachs = "Icmp6InDestUnreachs",
    Icmp6OutDestUnreachs = "Icmp6OutDestUnreachs",
    Icmp6InType1 = "Icmp6InType1",
    Icmp6OutType1 = "Icmp6OutType1",
    Udp6InDatagrams = "Udp6InDatagrams",
    Udp6NoPorts = "Udp6NoPorts",
    Udp6InErrors = "Udp6InErrors",
    Udp6OutDatagrams = "Udp6OutDatagrams",
    Udp6RcvbufErrors = "Udp6RcvbufErrors",
    Udp6SndbufErrors = "Udp6SndbufErrors",
    Udp6InCsumErrors = "Udp6InCsumErrors",
    TcpExtSyncookiesSent = "TcpExtSyncookiesSent",
    TcpExtSyncookiesRecv = "TcpExtSyncookiesRecv",
    TcpExtSyncookiesFailed = "TcpExtSyncookiesFailed",
    TcpExtTW = "TcpExtTW",
    TcpExtPAWSEstab = "TcpExtPAWSEstab",
    TcpExtDelayedACKs = "TcpExtDelayedACKs",
    TcpExtListenOverflows = "TcpExtListenOverflows",
    TcpExtListenDrops = "TcpExtListenDrops",
    TcpExtTCPFastRetrans = "TcpExtTCPFastRetrans",
    TcpExtTCPTimeouts = "TcpExtTCPTimeouts",
    TcpExtTCPAbortOnData = "TcpExtTCPAbortOnData",
    TcpExtTCPAbortOnClose = "TcpExtTCPAbortOnClose",
    TcpExtTCPAbortOnTimeout = "TcpExtTCPAbortOnTimeout",
    TcpExtTCPAbortOnLinger = "TcpExtTCPAbortOnLinger",
    TcpExtTCPWinProbe = "TcpExtTCPWinProbe",
    TcpExtTCPKeepAlive = "TcpExtTCPKeepAlive",
    TcpExtTCPRcvQDrop = "TcpExtTCPRcvQDrop",
    TcpExtTCPChallengeACK = "TcpExtTCPChallengeACK",
    TcpExtTCPACKSkippedChallenge = "TcpExtTCPACKSkippedChallenge",
    TcpExtTCPSYNChallenge = "TcpExtTCPSYNChallenge",
    TcpExtEmbryonicRsts = "TcpExtEmbryonicRsts",
    TcpExtTCPSackRecovery = "TcpExtTCPSackRecovery",
    TcpExtTCPSlowStartRetrans = "TcpExtTCPSlowStartRetrans",
    TcpExtTCPDSACKRecv = "TcpExtTCPDSACKRecv",
    TcpExtTCPLossProbes = "TcpExtTCPLossProbes",
    TcpExtTCPLossProbeRecovery = "TcpExtTCPLossProbeRecovery",
    TcpExtTCPSACKReorder = "TcpExtTCPSACKReorder",
    TcpExtTCPHystartTrainDetect = "TcpExtTCPHystartTrainDetect",
    TcpExtTCPHystartTrainCwnd = "TcpExtTCPHystartTrainCwnd",
    TcpExtTCPHystartDelayDetect = "TcpExtTCPHystartDelayDetect",
    TcpExtTCPHystartDelayCwnd = "TcpExtTCPHystartDelayCwnd",
    IpExtInTruncatedPkts = "IpExtInTruncatedPkts",
    IpExtInCsumErrors = "IpExtInCsumErrors",
    IpExtInOctets = "IpExtInOctets",
    IpExtOutOctets = "IpExtOutOctets",
}

/// A namespace's counters.
#[derive(Clone, Debug)]
pub struct MibTable {
    values: Vec<u64>,
}

impl Default for MibTable {
    fn default() -> MibTable {
        MibTable {
            values: vec![0; Mib::ALL.len()],
        }
    }
}

impl MibTable {
    /// The counter's value.
    pub fn get(&self, m: Mib) -> u64 {
        self.values[m as usize]
    }

    pub(crate) fn inc(&mut self, m: Mib) {
        self.add(m, 1);
    }

    pub(crate) fn add(&mut self, m: Mib, n: u64) {
        self.values[m as usize] += n;
    }

    /// Every counter with its value, in `nstat`'s order.
    pub fn iter(&self) -> impl Iterator<Item = (Mib, u64)> + '_ {
        Mib::ALL.iter().map(|&m| (m, self.get(m)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_start_at_zero_and_count() {
        let mut t = MibTable::default();
        t.inc(Mib::UdpRcvbufErrors);
        t.add(Mib::UdpInDatagrams, 3);
        assert_eq!(t.get(Mib::UdpRcvbufErrors), 1);
        assert_eq!(t.get(Mib::UdpInDatagrams), 3);
        assert_eq!(t.iter().filter(|(_, v)| *v > 0).count(), 2);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = Mib::ALL.iter().map(|m| m.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Mib::ALL.len());
    }
}
