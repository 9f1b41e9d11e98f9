// SVG files are imported as their source text (the builder's asset/source rule; jest's raw loader).
declare module '*.svg' {
  const value: string;
  export default value;
}
