// partner-vpn: per-partner IPsec endpoints that NAT our traffic to a public Elastic IP.
// The program lives in program/stack.ts; this file only hands its outputs to Pulumi.
import { definePartnerVpnStack } from "./program/stack";

export = definePartnerVpnStack();
