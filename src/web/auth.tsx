/** Login with the daemon's token, kept in sessionStorage (gone when the tab closes). */
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Api } from "./api/client.js";

const KEY = "kvmgr.token";

interface Auth {
  api: Api | null;
  login: (token: string) => void;
  logout: () => void;
  /** set when the daemon refused the stored token */
  expired: boolean;
}

const Ctx = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const qc = useQueryClient();
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(KEY));
  const [expired, setExpired] = useState(false);
  const logout = useCallback(() => {
    sessionStorage.removeItem(KEY);
    setToken(null);
    qc.clear();
  }, [qc]);
  const login = useCallback((t: string) => {
    sessionStorage.setItem(KEY, t);
    setExpired(false);
    setToken(t);
  }, []);
  const api = useMemo(
    () =>
      token === null
        ? null
        : new Api({
            token,
            onUnauthorized: () => {
              setExpired(true);
              logout();
            },
          }),
    [token, logout],
  );
  const value = useMemo(() => ({ api, login, logout, expired }), [api, login, logout, expired]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useAuth(): Auth {
  const v = useContext(Ctx);
  if (!v) throw new Error("useAuth outside AuthProvider");
  return v;
}

/** The API of a logged-in session (components below the login gate). */
export function useApi(): Api {
  const { api } = useAuth();
  if (!api) throw new Error("useApi before login");
  return api;
}
