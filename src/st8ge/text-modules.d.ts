// Buildpack scripts and the lifecycle script are embedded as text
// (`import x from "./file" with { type: "text" }`), so `bun build --compile`
// carries them inside the binary.
declare module "*.sh" {
  const text: string;
  export default text;
}
declare module "*/bin/detect" {
  const text: string;
  export default text;
}
declare module "*/bin/supply" {
  const text: string;
  export default text;
}
declare module "*/bin/finalize" {
  const text: string;
  export default text;
}
declare module "*/bin/release" {
  const text: string;
  export default text;
}
declare module "*/bin/compile" {
  const text: string;
  export default text;
}
