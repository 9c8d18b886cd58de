// Edit this line while the host runs: the greeter reloads.
export const greeting = 'Hello,'
