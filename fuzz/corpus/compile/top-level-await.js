const v = await Promise.resolve(42);
export { v };
