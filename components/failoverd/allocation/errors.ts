/** An allocation input that ctdbd could never have produced (bad address text, duplicate or negative PNN). */
export class AllocationInputError extends Error {
  override name = 'AllocationInputError';
}
