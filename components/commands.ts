/**
 * The remote commands that configure an endpoint over SSH.
 * - bootstrap: packages, sysctl, boot unit; re-runs when the instance or the script changes.
 * - apply: pushes the rendered files. Its script carries the PSK, so it travels on stdin as a
 *   secret, never in the command line or `environment` (which would also need sshd AcceptEnv).
 *   `triggers` hold content hashes (the one over the PSK file stays a secret), so a change replaces the command: the engine runs the new
 *   create, then the old delete; that delete names the generation it applied and removes nothing
 *   once a newer one is in place. Removing a partner runs the delete with the current generation,
 *   which cleans up.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { childStatusFromApplyOutput, type ChildStatus } from "../core/childStatus";
import type { EndpointAddresses, PartnerModel, RenderedFile, StackModel } from "../core/model";
import {
    type PairRender,
    applyCommand, bootstrapCommand, contentHashes, removeCommand, renderApplyScript, renderBootstrapScript, renderEndpointFiles,
} from "../core/render";

export type Connection = command.types.input.remote.ConnectionArgs;

export interface ConnectionArgs {
    readonly model: StackModel;
    /** The endpoint's partner: its OS decides the login user. */
    readonly partner: PartnerModel;
    /** The bastion's host as the caller gave it (plain or an Output). */
    readonly bastionHost?: pulumi.Input<string>;
    /** Where SSH connects: the private IP through a bastion, else the tunnel EIP. */
    readonly host: pulumi.Input<string>;
    readonly sshPrivateKey: pulumi.Input<string>;
}

export function sshConnection(args: ConnectionArgs): Connection {
    const { endpoint } = args.model;
    return {
        host: args.host,
        user: args.partner.sshUser,
        port: 22,
        privateKey: pulumi.secret(args.sshPrivateKey),
        // A fresh instance takes a minute or two before sshd answers.
        dialErrorLimit: 40,
        perDialTimeout: 15,
        proxy: endpoint.bastion
            ? { host: args.bastionHost ?? endpoint.bastion.host, user: endpoint.bastion.user, port: endpoint.bastion.port, privateKey: pulumi.secret(args.sshPrivateKey) }
            : undefined,
    };
}

export interface BootstrapArgs {
    readonly model: StackModel;
    readonly connection: Connection;
    readonly instanceId: pulumi.Input<string>;
    /** The endpoint's partner: its IPsec daemon (and, for Libreswan, IKE version) picks the packages. */
    readonly partner?: PartnerModel;
}

export function createBootstrapCommand(name: string, args: BootstrapArgs, parent: pulumi.Resource, dependsOn: pulumi.Resource[]): command.remote.Command {
    const script = renderBootstrapScript();
    // Libreswan partners re-bootstrap when the daemon or the IKE version changes (packages, and
    // pluto's global IKEv1 policy); strongSwan partners keep the triggers they always had.
    const daemon = args.partner?.ipsecDaemon === "libreswan" ? ["libreswan", `ikev${args.partner.ike.version}`] : [];
    const os = args.partner?.os ?? args.model.endpoint.os;
    return new command.remote.Command(`${name}-bootstrap`, {
        connection: args.connection,
        create: bootstrapCommand(args.model, args.model.mode, args.partner),
        stdin: script,
        triggers: [args.instanceId, createHash("sha256").update(script).digest("hex").slice(0, 32), args.model.mode, os, ...daemon],
        addPreviousOutputInEnv: false,
    }, { parent, dependsOn });
}

export interface ApplyArgs {
    readonly model: StackModel;
    readonly partner: PartnerModel;
    readonly connection: Connection;
    readonly instanceId: pulumi.Input<string>;
    readonly addresses: pulumi.Input<EndpointAddresses>;
    readonly psk: pulumi.Input<string>;
    /** A pair's member: which one, and what its failover moves (ids AWS assigns). */
    readonly pair?: pulumi.Input<PairRender>;
}

export interface ApplyCommand {
    readonly command: command.remote.Command;
    /** Hash of the plain files (no PSK in it): a trigger, shown in previews. */
    readonly configHash: pulumi.Output<string>;
    /** The generation the endpoint records (see removeCommand). */
    readonly generation: pulumi.Output<string>;
    /** Every file the apply pushes, rendered once here (secret: one of them holds the PSK). */
    readonly files: pulumi.Output<readonly RenderedFile[]>;
    /** Per child, what the last run of the apply reported: up, or waiting for the partner (core/childStatus.ts). */
    readonly childStatus: pulumi.Output<Record<string, ChildStatus>>;
}

export function createApplyCommand(name: string, args: ApplyArgs, parent: pulumi.Resource, dependsOn: pulumi.Resource[]): ApplyCommand {
    const { model, partner } = args;
    // Everything derived from the PSK stays inside this secret output. Only the hash of the plain
    // files and the generation leave it in plain (the generation names the applied state in the
    // delete command); the hash over the PSK file stays a secret trigger.
    const rendered = pulumi.secret(pulumi.all([args.addresses, args.psk, args.pair]).apply(([addresses, psk, pair]) => {
        const files = renderEndpointFiles(model, partner, addresses, psk, pair);
        const hashes = contentHashes(files);
        return { script: renderApplyScript(partner, files, hashes.generation), hashes, files };
    }));
    const configHash = pulumi.unsecret(rendered.apply((r) => r.hashes.config));
    const generation = pulumi.unsecret(rendered.apply((r) => r.hashes.generation));
    const cmd = new command.remote.Command(`${name}-apply`, {
        connection: args.connection,
        create: applyCommand(model, partner),
        delete: generation.apply((g) => removeCommand(model, partner.name, g, partner)),
        stdin: rendered.apply((r) => r.script),
        triggers: [args.instanceId, configHash, rendered.apply((r) => r.hashes.secrets)],
        addPreviousOutputInEnv: false,
        // The scripts print nothing secret; the outputs are still kept secret in state.
        logging: "stderr",
    }, { parent, dependsOn, additionalSecretOutputs: ["stdout", "stderr"] });
    // stdout is secret in state; only the recognised status words of the configured children
    // leave it (core/childStatus.ts), so the status is a plain output.
    const childStatus = pulumi.unsecret(cmd.stdout.apply((out) => childStatusFromApplyOutput(partner, out ?? "")));
    return { command: cmd, configHash, generation, files: rendered.apply((r) => r.files), childStatus };
}
