/**
 * The change review as text: per partner, each resource to create, update, replace or delete with
 * the inputs that changed and why a replacement happens, then the file diffs.
 */
import type { PlanChanges, PropertyChange, ResourceChange } from "./changes";

const SYMBOL: Record<string, string> = { create: "+", update: "~", replace: "+-", delete: "-" };
const SHORT_TYPE = (type: string) => type.split(":").pop() ?? type;

function shown(value: unknown): string {
    if (value === undefined) return "(unset)";
    const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value);
    if (typeof value === "string" && (value.includes("\n") || value.length > 160)) return `(text of ${value.split("\n").length} lines)`;
    return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Lists are shown as the elements that went and came, which reads better than two long lines. */
function valueLines(c: PropertyChange): string[] {
    if (Array.isArray(c.before) && Array.isArray(c.after)) {
        const before: unknown[] = c.before;
        const after: unknown[] = c.after;
        const has = (items: unknown[], x: unknown) => items.some((y) => JSON.stringify(y) === JSON.stringify(x));
        const gone = before.filter((x) => !has(after, x));
        const came = after.filter((y) => !has(before, y));
        if (gone.length + came.length > 0) return [...gone.map((x) => `- ${shown(x)}`), ...came.map((y) => `+ ${shown(y)}`)];
    }
    if (typeof c.before === "string" && typeof c.after === "string" && (c.before.includes("\n") || c.after.includes("\n"))) {
        return ["(multi-line text changed; see the file diffs below)"];
    }
    return [`${shown(c.before)} -> ${shown(c.after)}`];
}

function propertyLines(c: PropertyChange): string[] {
    const tags = [
        c.forcesReplacement && !c.ignored ? "forces replacement" : "",
        c.ignored ? "ignored: listed in ignoreChanges" : "",
        c.cause ? `references ${c.cause}, which is replaced: new value known only after pulumi up` : "",
    ].filter(Boolean);
    const tag = tags.length > 0 ? `  [${tags.join("; ")}]` : "";
    // A change that only comes from a replaced resource looks the same on both sides: show it once.
    const values = c.cause && JSON.stringify(c.before) === JSON.stringify(c.after) ? [shown(c.after)] : valueLines(c);
    const lines = values.length === 1 && values[0].length < 100 ? [`${c.path}: ${values[0]}${tag}`] : [`${c.path}:${tag.trimEnd().replace(/^ +/, " ")}`, ...values.map((v) => `    ${v}`)];
    if (c.note) lines.push(`    (${c.note})`);
    return lines;
}

function resourceLines(c: ResourceChange): string[] {
    const flags = [c.protect ? "protected" : "", c.read ? "adopted" : ""].filter(Boolean);
    const lines = [`${(SYMBOL[c.action] ?? "?").padEnd(2)} ${c.action.padEnd(7)} ${SHORT_TYPE(c.type)} ${c.name}  (${c.type})${flags.length ? `  [${flags.join(", ")}]` : ""}`];
    if (c.reasons.length > 0) lines.push(`     replaced because ${c.reasons.join("; ")}`);
    for (const p of c.changes) lines.push(...propertyLines(p).map((l) => `     ${l}`));
    for (const n of c.notes) lines.push(`     ! ${n}`);
    return lines;
}

function countsLine(counts: PlanChanges["counts"]): string {
    return `${counts.create} to create, ${counts.update} to update, ${counts.replace} to replace, ${counts.delete} to delete, ${counts.unchanged} unchanged`;
}

export function describeChanges(changes: PlanChanges): string {
    const lines = [`partner-vpn change review: ${changes.from} -> ${changes.to}`, ...changes.notes];
    if (!changes.changed) {
        lines.push("", "no changes", "");
        return lines.join("\n");
    }
    for (const p of changes.partners) {
        const c = (a: string) => p.resources.filter((r) => r.action === a).length;
        const tally = ["create", "update", "replace", "delete"].filter((a) => c(a) > 0).map((a) => `${c(a)} to ${a}`).join(", ") || "no resource changes";
        const status = p.status === "added" ? " (new partner)" : p.status === "removed" ? " (partner removed)" : "";
        lines.push("", `Partner ${p.partner}${status}: ${tally}`);
        for (const r of p.resources) lines.push(...resourceLines(r).map((l) => `  ${l}`));
        if (p.files.length === 0) continue;
        if (p.status !== "changed") {
            // A whole endpoint appearing or going: listing its files says more than full diffs.
            lines.push(`  files ${p.status === "added" ? "the new endpoint receives (npm run plan writes them)" : "removed with the endpoint"}:`);
            for (const f of p.files) lines.push(`    ${f.path}`);
            continue;
        }
        lines.push("  file diffs:");
        for (const f of p.files) lines.push(...f.patch.trimEnd().split("\n").map((l) => `    ${l}`));
    }
    if (changes.stackResources.length > 0) {
        lines.push("", "Stack-level resources:");
        for (const r of changes.stackResources) lines.push(...resourceLines(r).map((l) => `  ${l}`));
    }
    lines.push("", `Summary: ${countsLine(changes.counts)}`, "");
    return lines.join("\n");
}
