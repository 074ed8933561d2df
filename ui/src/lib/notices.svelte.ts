import { normalizeError, type AppError } from "./api";

export type Notice = AppError & { id: number };

let nextId = 1;
const list = $state<Notice[]>([]);

export const notices = {
  get items(): readonly Notice[] {
    return list;
  },
  push(error: AppError): void {
    list.push({ ...error, id: nextId++ });
  },
  dismiss(id: number): void {
    const index = list.findIndex((notice) => notice.id === id);
    if (index >= 0) list.splice(index, 1);
  },
  clear(): void {
    list.length = 0;
  },
};

/** Runs a command; a failure becomes a global notice and `undefined`. */
export async function reportingFailures<T>(action: () => Promise<T>): Promise<T | undefined> {
  try {
    return await action();
  } catch (raw) {
    notices.push(normalizeError(raw));
    return undefined;
  }
}
