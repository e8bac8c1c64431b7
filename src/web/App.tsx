/** Routes. Heavy pages (consoles, graphs, capture, topology) load on demand. */
import { lazy, Suspense } from "react";
import { Route, Switch } from "wouter";
import { useAuth } from "./auth.js";
import { EventsProvider } from "./api/events.js";
import { Layout } from "./components/Layout.js";
import { Login } from "./components/Login.js";
import { Loading, ToastProvider } from "./components/common.js";
import { MachineList } from "./components/machines/MachineList.js";
import { NetworkList } from "./components/networks/NetworkList.js";
import { NetworkCreateForm } from "./components/networks/NetworkCreate.js";
import { NetworkDetails } from "./components/networks/NetworkDetails.js";
import { HostPage } from "./components/host/HostPage.js";
import { NotFound } from "./components/NotFound.js";

const VmDetails = lazy(() => import("./components/vm/VmDetails.js"));
const NewVmWizard = lazy(() => import("./components/wizard/NewVmWizard.js"));
const Topology = lazy(() => import("./components/topology/Topology.js"));

export function App() {
  const { api } = useAuth();
  if (!api) return <Login />;
  return (
    <EventsProvider>
      <ToastProvider>
        <Layout>
          <Suspense fallback={<Loading />}>
            <Switch>
              <Route path="/" component={MachineList} />
              <Route path="/vms/new" component={NewVmWizard} />
              <Route path="/vms/:name/:tab?">{(p) => <VmDetails name={decodeURIComponent(p.name)} tab={p.tab ?? "overview"} />}</Route>
              <Route path="/networks" component={NetworkList} />
              <Route path="/networks/new" component={NetworkCreateForm} />
              <Route path="/networks/:name/:tab?">{(p) => <NetworkDetails name={decodeURIComponent(p.name)} tab={p.tab ?? "overview"} />}</Route>
              <Route path="/topology" component={Topology} />
              <Route path="/host" component={HostPage} />
              <Route component={NotFound} />
            </Switch>
          </Suspense>
        </Layout>
      </ToastProvider>
    </EventsProvider>
  );
}
