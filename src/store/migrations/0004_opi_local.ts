/** Tables of the opi_local part (filled in by that part's issue). */
export default {
  version: 4,
  name: "opi_local",
  sql: ``,
};
