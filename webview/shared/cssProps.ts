// Inline styles under the panels' CSP, which allows no style attribute ('unsafe-inline' is not in
// style-src): `<div ${cssProps({ width: `${w}px` })}>` sets each property through the element's
// CSSOM (element.style.setProperty), which the CSP allows, and removes a property the next render
// leaves out. Lit's styleMap and a `style=` binding or literal write the style attribute, which the
// CSP blocks (and Chromium reports), so the panels use this instead, or a class in `static styles`.
import { noChange } from "lit";
import { Directive, directive, PartType, type ElementPart, type PartInfo } from "lit/directive.js";

/** CSS property names as in a stylesheet (`line-height`, `--my-var`) to values; null, undefined or "" leaves the property unset. */
export type CssProps = Readonly<Record<string, string | null | undefined>>;

class CssPropsDirective extends Directive {
  /** The properties the last render set, and their values. */
  private set = new Map<string, string>();

  constructor(info: PartInfo) {
    super(info);
    if (info.type !== PartType.ELEMENT) throw new Error("cssProps goes on an element, as <div ${cssProps({...})}>, not in an attribute");
  }

  render(_props: CssProps) {
    return noChange;
  }

  override update(part: ElementPart, [props]: [CssProps]) {
    const style = (part.element as HTMLElement | SVGElement).style;
    const next = new Map<string, string>();
    for (const [name, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === "") continue;
      next.set(name, value);
      if (this.set.get(name) !== value) style.setProperty(name, value);
    }
    for (const name of this.set.keys()) if (!next.has(name)) style.removeProperty(name);
    this.set = next;
    return noChange;
  }
}

/** An element's inline style through the CSSOM: `<span ${cssProps({ left: "4px" })}>`. */
export const cssProps = directive(CssPropsDirective);
