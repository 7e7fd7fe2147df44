export { chooseSubnetSlice, subnetSlices, isSliceOf } from "./subnet-slice.js";
export { allocateAddress, gatewayAddress } from "./address-allocation.js";
export { macForAddress } from "./mac-address.js";
export {
  prefixLength,
  sliceContains,
  parseIPv4,
  parseIPv4Cidr,
  formatIPv4,
  formatIPv4Cidr,
  cidrsOverlap,
  cidrContainsCidr,
  type IPv4Cidr,
} from "./ipv4-cidr.js";
