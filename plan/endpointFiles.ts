/**
 * The files one endpoint would receive, exactly as the program rendered them for its apply
 * command, made safe to show: the PSK redacted, unknown Elastic IPs as placeholders. The apply
 * script is rendered from the redacted files, so not even the base64 of the placeholder key is
 * written.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from "fs";
import * as path from "path";
import type { PartnerModel, RenderedFile, StackModel } from "../core/model";
import { applyCommand, bootstrapCommand, contentHashes, renderApplyScript, renderBootstrapScript } from "../core/render";
import type { Placeholders } from "./placeholders";
import type { PartnerPlan, PlannedFile, PlannedScript } from "./types";

export function redactedPskMarker(partner: string): string {
    return `<REDACTED: ${partner}'s PSK, set with pulumi config set --secret --path 'psks.${partner}'>`;
}

export interface RenderedEndpoint {
    readonly files: PlannedFile[];
    readonly scripts: PlannedScript[];
}

/** `rendered`: the program's files for this partner; `placeholders`: its stand-in addresses. */
export function plannedEndpoint(
    model: StackModel, partner: PartnerModel, rendered: readonly RenderedFile[], psk: string, placeholders: Placeholders,
): RenderedEndpoint {
    const encoded = Buffer.from(psk, "utf8").toString("base64");
    const marker = redactedPskMarker(partner.name);
    const files = rendered.map((f): PlannedFile => {
        let content = f.content;
        if (f.secret) content = content.split(`0s${encoded}`).join(marker).split(encoded).join(marker).split(psk).join(marker);
        return { path: f.path, mode: f.mode, content: placeholders.text(content), secret: f.secret };
    });
    const generation = contentHashes(files.map((f) => ({ ...f }))).generation;
    return {
        files,
        scripts: [
            { name: "apply.sh", command: applyCommand(model, partner), content: renderApplyScript(partner, files, generation) },
            { name: "bootstrap.sh", command: bootstrapCommand(model, model.mode, partner), content: renderBootstrapScript() },
        ],
    };
}

/** Where a partner's files go: endpoint paths under `files/`, the command scripts under `commands/`. */
export function outputLayout(outDir: string, partner: string): { root: string; file: (p: string) => string; script: (name: string) => string } {
    const root = path.join(outDir, partner);
    return {
        root,
        file: (p) => path.join(root, "files", ...p.split("/").filter(Boolean)),
        script: (name) => path.join(root, "commands", name),
    };
}

/** Marks a folder as the plan's own, listing the partner folders it wrote; only those are removed. */
const MARKER = ".partner-vpn-plan.json";

export class OutputFolderError extends Error {}

/**
 * Writes every partner's files, after removing what an earlier plan wrote there (a partner or a
 * file that no longer exists must not linger and mislead). A non-empty folder the plan did not
 * write is left alone: the plan refuses rather than delete someone's files.
 */
export function writePlanOutput(outDir: string, partners: readonly PartnerPlan[]): string[] {
    const markerPath = path.join(outDir, MARKER);
    if (existsSync(outDir) && readdirSync(outDir).length > 0) {
        if (!existsSync(markerPath)) throw new OutputFolderError(`${outDir} is not empty and was not written by the plan; choose another --out`);
        const previous = JSON.parse(readFileSync(markerPath, "utf8")) as { partners?: unknown };
        for (const name of Array.isArray(previous.partners) ? previous.partners : []) {
            // Names came from validated partner names; refuse anything that could leave the folder.
            if (typeof name === "string" && /^[a-z][a-z0-9-]*$/.test(name)) rmSync(path.join(outDir, name), { recursive: true, force: true });
        }
    }
    mkdirSync(outDir, { recursive: true });
    const written: string[] = [];
    for (const p of partners) {
        const layout = outputLayout(outDir, p.name);
        for (const f of p.files) {
            const target = layout.file(f.path);
            mkdirSync(path.dirname(target), { recursive: true });
            writeFileSync(target, f.content, { mode: parseInt(f.mode, 8) });
            written.push(target);
        }
        for (const s of p.scripts) {
            const target = layout.script(s.name);
            mkdirSync(path.dirname(target), { recursive: true });
            writeFileSync(target, s.content, { mode: 0o644 });
            written.push(target);
        }
    }
    writeFileSync(markerPath, `${JSON.stringify({ partners: partners.map((p) => p.name) }, null, 2)}\n`);
    return written;
}
