/**
 * The plan shows the files the program rendered for its apply commands: one rendering per partner
 * per evaluation, none of its own. Counted by wrapping the real renderer (it still does the work).
 */
import { expect } from "chai";
import * as render from "../../core/render";
import { PlaceholderSecrets } from "../../plan/placeholderSecrets";
import { acmePartner, editStack, partnersOf, planOk, stackText } from "./helpers";

describe("plan: endpoint files are rendered once per partner", () => {
    const original = render.renderEndpointFiles;
    const calls: string[] = [];
    const rendered = new Map<string, string[]>();

    before(() => {
        (render as { renderEndpointFiles: typeof original }).renderEndpointFiles = (model, partner, addresses, psk) => {
            calls.push(partner.name);
            const files = original(model, partner, addresses, psk);
            rendered.set(
                partner.name,
                files.map((f) => f.path),
            );
            return files;
        };
    });

    after(() => {
        (render as { renderEndpointFiles: typeof original }).renderEndpointFiles = original;
    });

    for (const stack of ["dev", "dev-classic"]) {
        it(`${stack} with two partners: two renderings, and the plan's files are the program's`, async () => {
            calls.length = 0;
            const text = editStack(stackText(stack), (c) => partnersOf(c).push(acmePartner(c["partner-vpn:mode"] as string)));
            const plan = await planOk(text, new PlaceholderSecrets(), stack);
            expect(calls.sort()).to.deep.equal(["acme", "bigcorp"]);
            for (const p of plan.partners)
                expect(
                    p.files.map((f) => f.path),
                    p.name,
                ).to.deep.equal(rendered.get(p.name));
            expect(plan.partners[0].files.some((f) => f.path === "/etc/nginx/nginx.conf")).to.equal(stack === "dev-classic");
        });
    }
});
