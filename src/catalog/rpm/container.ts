/** The header blobs read out of one rpm database file, and how many records could not be read. */
export interface BlobList {
  blobs: Buffer[];
  bad: number;
}
