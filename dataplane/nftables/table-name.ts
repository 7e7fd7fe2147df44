// weft's one nftables table, shared by egress, isolation and the service mesh.
export const FIREWALL_FAMILY = "inet";
export const FIREWALL_TABLE = "weft";
