/** multipart/related (RFC 2387) over RFC 2046 multipart bodies: streaming parser and writer. */
export { parseMultipart, isValidBoundary } from './multipart-parser.js';
export type { MultipartPart, MultipartParseOptions, ParsedPart } from './multipart-parser.js';
export { writeMultipart, newBoundary } from './multipart-writer.js';
export type { MultipartWritePart } from './multipart-writer.js';
