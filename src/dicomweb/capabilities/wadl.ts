/**
 * A WADL document (the Capabilities Description of PS3.18 Annex H is one) as a small element
 * tree, written as XML (application/vnd.sun.wadl+xml) or as the JSON of PS3.18 Annex G
 * (application/json): attributes as "@name" strings, "doc" elements as an array of objects with
 * "@title"/"@xml:lang"/"value" (G.2.1), elements unique in their parent as an object (G.2.2), and
 * elements that may repeat as an array of objects (G.2.3), whether one or several are present.
 */

/** The WADL namespace (WADL, W3C Member Submission 2009). */
export const WADL_NAMESPACE = 'http://wadl.dev.java.net/2009/02';
export const WADL_MEDIA_TYPE = 'application/vnd.sun.wadl+xml';

export interface WadlElement {
  readonly name: string;
  readonly attributes?: Readonly<Record<string, string | undefined>>;
  readonly children?: readonly WadlElement[];
  /** Text content (a doc element's). */
  readonly text?: string;
}

/**
 * The elements the WADL schema lets repeat in their parent (maxOccurs unbounded); the others
 * (grammars, request) appear at most once.
 */
const REPEATABLE = new Set(['doc', 'include', 'resources', 'resource', 'resource_type', 'method', 'response', 'representation', 'param', 'option', 'link']);

export function element(name: string, attributes: Record<string, string | undefined> = {}, children: readonly WadlElement[] = []): WadlElement {
  return { name, attributes, children };
}

export function doc(text: string, title?: string): WadlElement {
  return { name: 'doc', attributes: title === undefined ? {} : { title }, text };
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&quot;'));
}

function writeXml(e: WadlElement, indent: string, out: string[]): void {
  let head = `${indent}<${e.name}`;
  for (const [k, v] of Object.entries(e.attributes ?? {})) if (v !== undefined) head += ` ${k}="${escapeXml(v)}"`;
  const children = e.children ?? [];
  if (children.length === 0 && e.text === undefined) {
    out.push(`${head}/>`);
    return;
  }
  if (children.length === 0) {
    out.push(`${head}>${escapeXml(e.text!)}</${e.name}>`);
    return;
  }
  out.push(`${head}>`);
  if (e.text !== undefined) out.push(`${indent}  ${escapeXml(e.text)}`);
  for (const c of children) writeXml(c, `${indent}  `, out);
  out.push(`${indent}</${e.name}>`);
}

/** The document as XML; `root` is the application element. */
export function toWadlXml(root: WadlElement): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  writeXml({ ...root, attributes: { xmlns: WADL_NAMESPACE, 'xmlns:xsd': 'http://www.w3.org/2001/XMLSchema', ...root.attributes } }, '', out);
  return `${out.join('\n')}\n`;
}

type Json = string | Json[] | { [k: string]: Json };

function toJsonObject(e: WadlElement): { [k: string]: Json } {
  const o: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(e.attributes ?? {})) if (v !== undefined) o[`@${k}`] = v;
  if (e.text !== undefined) o.value = e.text;
  for (const c of e.children ?? []) {
    const value = toJsonObject(c);
    const repeats = REPEATABLE.has(c.name);
    if (!repeats) o[c.name] = value;
    else ((o[c.name] ??= []) as Json[]).push(value);
  }
  return o;
}

/** The document in the JSON of PS3.18 Annex G: {"application": {...}}. */
export function toWadlJson(root: WadlElement): string {
  return JSON.stringify({ [root.name]: toJsonObject(root) });
}
