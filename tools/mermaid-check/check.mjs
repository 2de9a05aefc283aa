// Parses every diagram named on the command line with Mermaid itself: a Markdown file's
// ```mermaid block, or an insta snapshot's body. Exits 1 naming each one that fails.
import { JSDOM } from 'jsdom';
import fs from 'fs';

// Mermaid expects a browser; a parse needs only a document.
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });

const files = process.argv.slice(2);
let bad = 0;
for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  const block = text.match(/```mermaid\n([\s\S]*?)```/);
  const diagram = block ? block[1] : text.replace(/^---\n[\s\S]*?\n---\n/, '');
  try {
    await mermaid.parse(diagram);
  } catch (e) {
    bad++;
    console.log(`${file}: ${String(e.message || e).slice(0, 400)}`);
  }
}
console.log(`mermaid parsed ${files.length - bad} of ${files.length} diagrams`);
process.exit(bad || files.length === 0 ? 1 : 0);
