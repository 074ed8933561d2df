// The upload form's rules, checked before anything is sent. Rust checks them again (and the
// file itself); these give the person an answer next to the field.
import type { PickedPath } from "./bindings/PickedPath";
import type { PickId } from "./bindings/PickId";
import type { UploadInput } from "./bindings/UploadInput";

export type UploadFields = { file: PickedPath | null; description: string; tags: string; date: string };
export type UploadErrors = Partial<Record<keyof UploadFields, string>>;

/** A date, or a date and time with an optional offset, as Open Humans reads ISO 8601. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseTags(text: string): string[] {
  return text
    .split(",")
    .map((tag) => tag.trim())
    .filter((tag) => tag !== "");
}

/** The command's input, or what is wrong with each field. */
export function validateUpload(fields: UploadFields): { file: PickId; input: UploadInput } | { errors: UploadErrors } {
  const errors: UploadErrors = {};
  const description = fields.description.trim();
  const tags = parseTags(fields.tags);
  const date = fields.date.trim();
  if (fields.file === null) errors.file = "Choose the file to upload.";
  if (description === "") errors.description = "Open Humans requires a description.";
  if (tags.length === 0) errors.tags = "Give at least one tag, such as steps or survey.";
  if (date !== "" && !ISO_8601.test(date)) errors.date = "Use an ISO 8601 date, such as 2024-03-01.";
  if (fields.file === null || Object.keys(errors).length > 0) return { errors };
  return { file: fields.file.id, input: { description, tags, creation_date: date === "" ? null : date, datatypes: [] } };
}
