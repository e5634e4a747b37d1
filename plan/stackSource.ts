/**
 * Where the plan's config comes from: a stack file in the working tree (`--stack` or `--config`)
 * or the same file as it was at a git ref (`--against`). Only the file's text is taken from git;
 * the program that evaluates it is always the current one.
 */
import { execFileSync } from "child_process";
import { existsSync, readFileSync } from "fs";
import * as path from "path";
import { SECRET_RUNTIME_KEYS } from "../core/config";
import { parseStackFile, withoutSecrets } from "../program/stackFile";

export interface StackSource {
    /** Stack name: used in URNs and the default output folder. */
    readonly stack: string;
    /** Absolute path of the stack file in the working tree. */
    readonly file: string;
    /** How to name it in messages: the path relative to the repo, `@ <ref>` for a git version. */
    readonly label: string;
}

export interface LoadedConfig {
    /** Runtime config (full key -> string), secret keys removed. */
    readonly values: Record<string, string>;
    /** For the reader: encrypted values the plan cannot read. */
    readonly notes: readonly string[];
    /** Problems to fix: secrets stored in plain text in the file. */
    readonly warnings: readonly string[];
}

/** A stack file that cannot be parsed or holds no config: an invalid config (exit code 2). */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

/** `Pulumi.<stack>.yaml` gives the stack name; any other file name gives its base name. */
export function stackNameOf(file: string): string {
    const base = path.basename(file);
    const m = /^Pulumi\.(.+)\.ya?ml$/.exec(base);
    return m ? m[1] : base.replace(/\.[^.]*$/, "");
}

export function resolveSource(opts: { repo: string; stack?: string; config?: string }): StackSource {
    if (opts.config) {
        const file = path.resolve(opts.repo, opts.config);
        const relative = path.relative(opts.repo, file);
        return { stack: opts.stack ?? stackNameOf(file), file, label: relative.startsWith("..") || path.isAbsolute(relative) ? file : relative };
    }
    const stack = opts.stack ?? "dev";
    const file = path.join(opts.repo, `Pulumi.${stack}.yaml`);
    return { stack, file, label: path.relative(opts.repo, file) };
}

/** Parses stack file text; secrets in it are dropped (the plan supplies its own placeholders). */
export function loadConfig(text: string, label: string): LoadedConfig {
    let parsed;
    try {
        parsed = parseStackFile(text, label);
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new StackFileError(message.startsWith(label) ? message : `${label}: ${message}`);
    }
    const { values, removed } = withoutSecrets(parsed.values);
    const notes: string[] = [];
    const warnings: string[] = [];
    for (const key of parsed.encryptedKeys) {
        if (SECRET_RUNTIME_KEYS.includes(key)) notes.push(`${key} is encrypted in ${label}; the plan uses a random placeholder instead`);
        else notes.push(`${key} is encrypted in ${label} and cannot be read offline; the plan runs without it`);
    }
    for (const key of removed) {
        // A plain-text secret in a committed file is a problem to fix, not a value to use.
        warnings.push(`${key} is stored in plain text in ${label}: remove it and set it with pulumi config set --secret; the plan ignores it and uses a placeholder`);
    }
    return { values, notes, warnings };
}

export function readWorkingTree(source: StackSource): string {
    if (!existsSync(source.file)) throw new Error(`no stack file ${source.label} (looked for ${source.file})`);
    return readFileSync(source.file, "utf8");
}

function git(cwd: string, args: string[]): string {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

/**
 * The stack file's text at a git ref, or undefined when the file did not exist there (the whole
 * stack is then new). A ref that does not name a commit is an error.
 */
export function readAtRef(source: StackSource, ref: string): string | undefined {
    const dir = path.dirname(source.file);
    try {
        git(dir, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    } catch {
        throw new Error(`--against ${ref}: not a commit in the git repository at ${dir}`);
    }
    // `<ref>:./<file>` is relative to the current directory, wherever the repository root is.
    const spec = `${ref}:./${path.basename(source.file)}`;
    try {
        git(dir, ["cat-file", "-e", spec]);
    } catch {
        return undefined;
    }
    return git(dir, ["show", spec]);
}
