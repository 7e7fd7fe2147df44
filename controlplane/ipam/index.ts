export { chooseSubnetSlice, subnetSlices, isSliceOf } from "./subnet-slice.js";
export { allocateAddress, takeRequestedAddress, sliceHolding } from "./address-allocation.js";
