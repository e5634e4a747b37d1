/**
 * The change review: two offline plans of the same stack (the stack file at a git ref and now),
 * compared resource by resource the way `pulumi preview` would decide, plus a unified diff of
 * every rendered file that differs.
 *
 * Unknown values after a replacement. The mocks hand out the same id for the same resource name,
 * so a replaced instance has the "same" id on both sides and nothing referencing it seems to
 * change. In reality its id (and network interface) are new, known only after pulumi up. The rule, as
 * Pulumi applies it: an input that references an output of a replaced resource is changed; if
 * that input forces replacement of its own resource (an association's instanceId, a command's
 * triggers), that resource is replaced as well, and so on until nothing more changes. An input
 * that does not force replacement (a route's networkInterfaceId) makes an update. Which input
 * references which resource is what the program registered with the engine: each input's
 * dependencies (PlannedResource.inputDependencies), values computed from outputs included (the
 * apply's hashes over files holding the Elastic IPs' addresses).
 */
import { createTwoFilesPatch } from "diff";
import { changeNote, forcesReplacement, isIgnored, replacementNote, replacesOnChange, updateNote } from "./replaceRules";
import type { PartnerPlan, PlannedResource, StackPlan } from "./types";

export type Action = "create" | "update" | "replace" | "delete";
/** "none" only while comparing: such entries are dropped from the result. */
type Decision = Action | "none";

export interface PropertyChange {
    readonly path: string;
    readonly before?: unknown;
    readonly after?: unknown;
    readonly forcesReplacement: boolean;
    /** A replaced resource this input references: its value changes at up even where it looks the same here. */
    cause?: string;
    /** Changed, but listed in the resource's ignoreChanges: Pulumi leaves it alone. */
    readonly ignored: boolean;
    readonly note?: string;
}

export interface ResourceChange {
    action: Decision;
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    readonly partner?: string;
    readonly read: boolean;
    readonly protect: boolean;
    readonly changes: PropertyChange[];
    readonly reasons: string[];
    readonly notes: string[];
}

export interface FileDiff {
    readonly path: string;
    readonly status: "added" | "removed" | "modified";
    readonly patch: string;
}

export interface PartnerChanges {
    readonly partner: string;
    /** The whole partner is new or gone (its component is created or deleted). */
    readonly status: "added" | "removed" | "changed";
    readonly resources: ResourceChange[];
    readonly files: FileDiff[];
}

export interface PlanChanges {
    readonly from: string;
    readonly to: string;
    readonly changed: boolean;
    readonly notes: string[];
    readonly partners: PartnerChanges[];
    readonly stackResources: ResourceChange[];
    readonly counts: Readonly<Record<Action | "unchanged", number>>;
}

type Flat = Map<string, unknown>;

/** Objects are flattened to their leaves (`rootBlockDevice.encrypted`); lists stay whole. */
function flatten(value: unknown, prefix: string, out: Flat): Flat {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    } else if (value !== undefined) {
        out.set(prefix, value);
    }
    return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function ownChanges(before: PlannedResource, after: PlannedResource): PropertyChange[] {
    const a = flatten(before.inputs, "", new Map());
    const b = flatten(after.inputs, "", new Map());
    const paths = [...new Set([...a.keys(), ...b.keys()])].filter((p) => !same(a.get(p), b.get(p)));
    return paths.map((path) => ({
        path, before: a.get(path), after: b.get(path),
        forcesReplacement: forcesReplacement(after.type, path) || replacesOnChange(after.options.replaceOnChanges ?? [], path),
        ignored: isIgnored(after.options.ignoreChanges, path),
        note: changeNote(after.type, path),
    }));
}

function protectedNote(r: PlannedResource): string {
    return `protected: pulumi up refuses to delete it; if that is intended, first run: pulumi state unprotect '${r.urn}'`;
}

function created(r: PlannedResource): ResourceChange {
    return { action: "create", type: r.type, name: r.name, urn: r.urn, partner: r.partner, read: r.read, protect: r.options.protect, changes: [], reasons: [], notes: r.read ? ["adopted: read from AWS, nothing is created"] : [] };
}

function deleted(r: PlannedResource): ResourceChange {
    const notes = r.read ? ["adopted: Pulumi stops reading it; nothing is deleted in AWS"] : [];
    if (r.options.protect && !r.read) notes.push(protectedNote(r));
    if (r.type === "aws:ec2/eip:Eip" && !r.read) notes.push("the address is released: the partner's whitelisting of it becomes void, and it cannot be got back");
    return { action: "delete", type: r.type, name: r.name, urn: r.urn, partner: r.partner, read: r.read, protect: r.options.protect, changes: [], reasons: [], notes };
}

interface Pair { before: PlannedResource; after: PlannedResource; change: ResourceChange }

function compared(before: PlannedResource, after: PlannedResource): ResourceChange {
    const changes = ownChanges(before, after);
    const effective = changes.filter((c) => !c.ignored);
    const reasons = effective.filter((c) => c.forcesReplacement).map((c) => `${c.path} changed`);
    const notes: string[] = [];
    if (before.read !== after.read) reasons.push(after.read ? "now adopts an existing allocation instead of the one Pulumi created" : "now created by Pulumi instead of adopted");
    if (before.read !== after.read && before.options.protect && !before.read) notes.push(protectedNote(before));
    const action: Decision = reasons.length > 0 ? "replace" : effective.length > 0 ? "update" : "none";
    return { action, type: after.type, name: after.name, urn: after.urn, partner: after.partner, read: after.read, protect: after.options.protect, changes, reasons, notes };
}

/** Propagates replacements through inputs that reference replaced resources (see the file comment). */
function cascade(pairs: Pair[]): void {
    const nameOf = new Map(pairs.map((p) => [p.after.urn, p.after.name]));
    const replaced = new Set(pairs.filter((p) => p.change.action === "replace").map((p) => p.after.urn));
    let grew = true;
    while (grew) {
        grew = false;
        for (const p of pairs) {
            for (const [key, urns] of Object.entries(p.after.inputDependencies)) {
                const causeUrn = urns.find((u) => u !== p.after.urn && replaced.has(u));
                if (!causeUrn || isIgnored(p.after.options.ignoreChanges, key)) continue;
                const cause = nameOf.get(causeUrn) ?? causeUrn;
                const value = p.after.inputs[key];
                const own = p.change.changes.find((c) => c.path === key || c.path.startsWith(`${key}.`));
                if (own?.cause) continue;
                const forces = forcesReplacement(p.after.type, key);
                if (own) own.cause = cause;
                else p.change.changes.push({ path: key, before: p.before.inputs[key], after: value, forcesReplacement: forces, cause, ignored: false });
                if (forces && p.change.action !== "replace") {
                    p.change.reasons.push(`${key} references ${cause}, which is replaced (its new value is known only after pulumi up)`);
                    p.change.action = "replace";
                    replaced.add(p.after.urn);
                    grew = true;
                } else if (p.change.action === "none") {
                    p.change.action = "update";
                }
            }
        }
    }
}

function compareResources(before: readonly PlannedResource[], after: readonly PlannedResource[]): ResourceChange[] {
    const key = (r: PlannedResource) => `${r.type}::${r.name}`;
    const old = new Map(before.map((r) => [key(r), r]));
    const now = new Set(after.map(key));
    const pairs: Pair[] = [];
    const out: ResourceChange[] = [];
    for (const r of after) {
        const prev = old.get(key(r));
        if (!prev) {
            out.push(created(r));
            continue;
        }
        const pair = { before: prev, after: r, change: compared(prev, r) };
        pairs.push(pair);
        out.push(pair.change);
    }
    cascade(pairs);
    for (const r of before) if (!now.has(key(r))) out.push(deleted(r));
    for (const c of out) {
        const note = c.action === "update" ? updateNote(c.type) : undefined;
        if (note) c.notes.push(note);
        if (c.action !== "replace") continue;
        const r = after.find((x) => key(x) === `${c.type}::${c.name}`);
        const replacing = replacementNote(c.type, r?.options.deleteBeforeReplace ?? false);
        if (replacing) c.notes.push(replacing);
        if (c.protect && c.type === "aws:ec2/eip:Eip" && r) c.notes.push(protectedNote(r));
    }
    return out;
}

function fileDiffs(before: PartnerPlan | undefined, after: PartnerPlan | undefined): FileDiff[] {
    const files = (p: PartnerPlan | undefined) => new Map([
        ...(p?.files ?? []).map((f) => [f.path, `${f.content}`] as const),
        // The apply script only re-encodes the files above; the bootstrap script is its own file.
        ...(p?.scripts ?? []).filter((s) => s.name !== "apply.sh").map((s) => [`commands/${s.name}`, s.content] as const),
    ]);
    const a = files(before);
    const b = files(after);
    const modes = (p: PartnerPlan | undefined) => new Map((p?.files ?? []).map((f) => [f.path, f.mode]));
    const out: FileDiff[] = [];
    for (const path of [...new Set([...a.keys(), ...b.keys()])]) {
        const x = a.get(path);
        const y = b.get(path);
        const modeChanged = x !== undefined && y !== undefined && modes(before).get(path) !== modes(after).get(path);
        if (x === y && !modeChanged) continue;
        const status = x === undefined ? "added" : y === undefined ? "removed" : "modified";
        const header = modeChanged ? `mode ${modes(before).get(path)} -> ${modes(after).get(path)}` : undefined;
        const patch = createTwoFilesPatch(x === undefined ? "/dev/null" : `a/${path.replace(/^\//, "")}`, y === undefined ? "/dev/null" : `b/${path.replace(/^\//, "")}`, x ?? "", y ?? "", header, undefined, { context: 3 });
        // Drop jsdiff's "=====" separator line: the ---/+++ headers already separate files.
        out.push({ path, status, patch: patch.replace(/^=+\n/, "") });
    }
    return out;
}

export interface DiffLabels {
    readonly from: string;
    readonly to: string;
    /** The stack file did not exist at the ref: everything is new. */
    readonly missingBefore: boolean;
}

export function diffPlans(before: StackPlan | undefined, after: StackPlan, labels: DiffLabels): PlanChanges {
    const names = [...new Set([...after.partners.map((p) => p.name), ...(before?.partners ?? []).map((p) => p.name)])];
    const partners: PartnerChanges[] = [];
    for (const name of names) {
        const b = before?.partners.find((p) => p.name === name);
        const a = after.partners.find((p) => p.name === name);
        const resources = compareResources(b?.resources ?? [], a?.resources ?? []).filter((c) => c.action !== "none");
        const files = fileDiffs(b, a);
        if (resources.length === 0 && files.length === 0) continue;
        partners.push({ partner: name, status: !b ? "added" : !a ? "removed" : "changed", resources, files });
    }
    const all = compareResources(before?.stackResources ?? [], after.stackResources);
    const stackResources = all.filter((c) => c.action !== "none");
    const changes = [...partners.flatMap((p) => p.resources), ...stackResources];
    const total = after.summary.resources;
    const counts = {
        create: changes.filter((c) => c.action === "create").length,
        update: changes.filter((c) => c.action === "update").length,
        replace: changes.filter((c) => c.action === "replace").length,
        delete: changes.filter((c) => c.action === "delete").length,
        unchanged: 0,
    };
    counts.unchanged = total - counts.create - counts.update - counts.replace;
    const notes = ["Both sides are evaluated offline with the current program code; only the stack file differs."];
    if (labels.missingBefore) notes.push(`${labels.from} does not exist: every resource is new.`);
    return { from: labels.from, to: labels.to, changed: changes.length > 0 || partners.some((p) => p.files.length > 0), notes, partners, stackResources, counts };
}
