export { chooseSubnetSlice, subnetSlices, isSliceOf } from "./subnet-slice.js";
export { allocateAddress } from "./address-allocation.js";
