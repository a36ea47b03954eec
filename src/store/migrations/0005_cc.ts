/** Tables of the cc part (filled in by that part's issue). */
export default {
  version: 5,
  name: "cc",
  sql: ``,
};
