/** Tables of the staging part (filled in by that part's issue). */
export default {
  version: 3,
  name: "staging",
  sql: ``,
};
