// One shared ticking clock (unix seconds) for countdowns and relative times.
let nowSeconds = $state(Math.floor(Date.now() / 1000));
let subscribers = 0;
let timer: ReturnType<typeof setInterval> | undefined;

function tick() {
  nowSeconds = Math.floor(Date.now() / 1000);
}

export const clock = {
  get now() {
    return nowSeconds;
  },
};

/** Keeps the clock ticking while the calling component is mounted. */
export function useClock(): void {
  $effect(() => {
    subscribers += 1;
    if (subscribers === 1) {
      tick();
      timer = setInterval(tick, 1000);
    }
    return () => {
      subscribers -= 1;
      if (subscribers === 0) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  });
}
