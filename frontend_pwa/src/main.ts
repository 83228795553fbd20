import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { i18n, shareLocale } from './i18n'
import { router } from './router'
import { registerServiceWorker } from './pwa'
import './style.css'

shareLocale(i18n.global.locale.value)
createApp(App).use(createPinia()).use(i18n).use(router).mount('#app')
registerServiceWorker()
