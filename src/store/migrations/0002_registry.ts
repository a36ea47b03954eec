/** Tables of the registry part (filled in by that part's issue). */
export default {
  version: 2,
  name: "registry",
  sql: ``,
};
