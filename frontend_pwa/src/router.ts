import { createRouter, createWebHistory } from 'vue-router'

// Keep in step with webapp/urls.py SPA_ROUTES, which serves index.html for these paths.
// Pages are lazy so the first load carries only the shell and the page shown.
export const router = createRouter({
  history: createWebHistory('/'),
  routes: [
    { path: '/', name: 'home', component: () => import('./views/HomeView.vue') },
    { path: '/search', name: 'search', component: () => import('./views/HomeView.vue') },
    { path: '/p/:slug', name: 'product', component: () => import('./views/ProductView.vue'), props: true },
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue') },
    { path: '/orders', name: 'orders', component: () => import('./views/OrdersView.vue') },
    { path: '/orders/:number', name: 'order', component: () => import('./views/OrderView.vue'), props: true },
    // Shopper: cart and checkout (docs/checkout.md), member centre, my shares and rewards.
    { path: '/cart', name: 'cart', component: () => import('./views/CartView.vue') },
    { path: '/checkout', name: 'checkout', component: () => import('./views/CheckoutView.vue') },
    { path: '/me', name: 'member', component: () => import('./views/MemberView.vue') },
    { path: '/me/shares', name: 'shares', component: () => import('./views/SharesView.vue') },
    { path: '/staff', name: 'staff', component: () => import('./views/staff/InboxView.vue') },
    { path: '/staff/pick-list', name: 'staff-pick-list', component: () => import('./views/staff/PickListView.vue') },
    { path: '/staff/handover', name: 'staff-handover', component: () => import('./views/staff/HandoverView.vue') },
    { path: '/staff/returns', name: 'staff-returns', component: () => import('./views/staff/ReturnsView.vue') },
    { path: '/staff/stock', name: 'staff-stock', component: () => import('./views/staff/StockView.vue') },
    { path: '/staff/sync', name: 'staff-sync', component: () => import('./views/staff/SyncHealthView.vue') },
    { path: '/staff/orders/:number', name: 'staff-order', component: () => import('./views/staff/OrderView.vue'), props: true },
    // Share links (/s/<code>, social/) redirect to SOCIAL_PWA_BASE_URL (/app) + target path.
    { path: '/app/products/:slug', redirect: (to) => `/p/${String(to.params.slug)}` },
    { path: '/app/:rest(.*)*', redirect: '/' },
    // The live room speaks docs/live-protocol.md over /ws/live/<code>/.
    { path: '/live', name: 'live', component: () => import('./views/LiveListView.vue') },
    // The host console (host role; a host sees only their shows).
    { path: '/live/studio', name: 'host-shows', component: () => import('./views/HostShowsView.vue') },
    { path: '/live/studio/:code', name: 'host-console', component: () => import('./views/HostConsoleView.vue'), props: true },
    { path: '/live/:code', name: 'live-room', component: () => import('./views/LiveRoomView.vue'), props: true },
    { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue') },
  ],
  scrollBehavior: () => ({ top: 0 }),
})

router.afterEach(() => {
  // Move focus to the new page's heading so screen readers announce the navigation.
  requestAnimationFrame(() => document.querySelector<HTMLElement>('main h1')?.focus())
})
