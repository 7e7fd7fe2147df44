// What the lab shows of a service (`weft lab status`): the API's Service, trimmed to what a lab user reads.

export interface LabServicePort {
  protocol: "tcp" | "udp";
  published: number;
  target: number;
  publishMode: "ingress" | "local";
}

export interface LabServiceBackend {
  name: string;
  ip: string;
  node: string;
  endpointId: string;
}

export interface LabService {
  name: string;
  network: string;
  mode: "vip" | "dnsrr";
  /** vip mode only. */
  vip?: string;
  ports: LabServicePort[];
  /** Sorted by IP, as the API gives them. */
  backends: LabServiceBackend[];
}
