// Defining the card's elements in the registry Home Assistant's frontend looks them up in.
//
// When it starts, the frontend (its app bundle) replaces window.customElements with a scoped
// custom element registry (a polyfill). A module evaluated before that (one of the frontend's
// extra modules, imported alongside the frontend's own) would define its elements in the
// browser's own registry, which the frontend no longer asks: the card would stay "Custom
// element doesn't exist" on that page. So until the frontend has started (its polyfill is in,
// or its <home-assistant> element is defined), the elements wait for it; after ten seconds
// (a page that is not Home Assistant's frontend) they are defined anyway.

const waiting: [string, CustomElementConstructor][] = [];

function defineNow(name: string, element: CustomElementConstructor): void {
  if (!window.customElements.get(name)) window.customElements.define(name, element);
}

function frontendStarted(): boolean {
  return (
    (window as { CustomElementRegistryPolyfill?: unknown }).CustomElementRegistryPolyfill !== undefined ||
    window.customElements.get("home-assistant") !== undefined
  );
}

let flush: Promise<void> | undefined;

export function defineElement(name: string, element: CustomElementConstructor): void {
  if (frontendStarted()) {
    defineNow(name, element);
    return;
  }
  waiting.push([name, element]);
  flush ??= Promise.race([
    // The browser's own registry: the polyfill defines a stand-in there for every element.
    window.customElements.whenDefined("home-assistant").then(() => undefined),
    new Promise<void>((done) => setTimeout(done, 10_000)),
  ]).then(() => {
    for (const [waitingName, waitingElement] of waiting.splice(0)) defineNow(waitingName, waitingElement);
  });
}
