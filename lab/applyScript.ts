/**
 * Reading and hand-modifying a rendered apply script (core/render/scripts.ts): its files travel as
 * base64 here-documents (`f0`, `f1`, ...) and a table of `role fN 'path' mode` lines. The lab reads
 * them to know what a push installs, and rewrites one to feed a config our validator would have
 * refused (the bad-push checks), exactly as a hand-modified script would reach the endpoint.
 */

export interface EmbeddedFile {
    readonly index: number;
    /** swanctl, secrets, nat, nginx, helper. */
    readonly role: string;
    readonly path: string;
    readonly mode: string;
    readonly content: string;
}

const BLOCK = /base64 -d >"\$PVPN_STAGE\/f(\d+)" <<'PVPN_FILE_END'\n([\s\S]*?)\nPVPN_FILE_END/g;
const ROW = /^ {8}(\w+) f(\d+) '([^']+)' (0[0-7]{3}) \\$/gm;

export function embeddedFiles(script: string): EmbeddedFile[] {
    const contents = new Map<number, string>();
    for (const m of script.matchAll(BLOCK)) contents.set(Number(m[1]), Buffer.from(m[2].replace(/\n/g, ""), "base64").toString("utf8"));
    const files: EmbeddedFile[] = [];
    for (const m of script.matchAll(ROW)) {
        const index = Number(m[2]);
        const content = contents.get(index);
        if (content === undefined) throw new Error(`apply script: file f${index} is in the table but not embedded`);
        files.push({ index, role: m[1], path: m[3], mode: m[4], content });
    }
    if (files.length === 0 || files.length !== contents.size) throw new Error(`apply script: ${contents.size} embedded files, ${files.length} table rows`);
    return files;
}

export function embeddedFile(script: string, role: string): EmbeddedFile {
    const found = embeddedFiles(script).filter((f) => f.role === role);
    if (found.length !== 1) throw new Error(`apply script: expected one ${role} file, found ${found.length}`);
    return found[0];
}

/** The generation an apply script applies (from its `pvpn_apply 'partner' 'generation'` call). */
export function scriptGeneration(script: string): string {
    const m = /pvpn_apply '[^']+' '([0-9a-f]+)'/.exec(script);
    if (!m) throw new Error("apply script: no pvpn_apply call");
    return m[1];
}

/**
 * The script with one file's content replaced (re-encoded like the renderer does). Throws when
 * `edit` changes nothing, so a fixture edit that no longer matches cannot pass silently.
 */
export function withEditedFile(script: string, role: string, edit: (content: string) => string): string {
    const file = embeddedFile(script, role);
    const edited = edit(file.content);
    if (edited === file.content) throw new Error(`the edit of the ${role} file changed nothing`);
    const encoded = Buffer.from(edited, "utf8").toString("base64").replace(/(.{76})/g, "$1\n").trimEnd();
    let replaced = 0;
    const out = script.replace(BLOCK, (whole, index: string) => {
        if (Number(index) !== file.index) return whole;
        replaced++;
        return `base64 -d >"$PVPN_STAGE/f${index}" <<'PVPN_FILE_END'\n${encoded}\nPVPN_FILE_END`;
    });
    if (replaced !== 1) throw new Error(`apply script: f${file.index} not found to replace`);
    return out;
}
