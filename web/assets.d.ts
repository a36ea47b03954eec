// The web UI's files are imported as text (`with { type: "text" }`) to embed them in the binary.
declare module "*/web/app.js" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const text: string;
  export default text;
}
