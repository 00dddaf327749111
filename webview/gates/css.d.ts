// CSS files imported as text (esbuild's "text" loader), for a component's shadow-root styles.
declare module "*.css" {
  const text: string;
  export default text;
}
