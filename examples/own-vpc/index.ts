// Example program (see program.ts): `pulumi up` in this folder, after setting example:bastionAmi
// and the secrets example:sshPrivateKey, example:acmePsk, example:globexPsk.
import { defineOwnVpcExample } from "./program";

export = defineOwnVpcExample().outputs;
