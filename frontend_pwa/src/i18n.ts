import { createI18n } from 'vue-i18n'
import en from './locales/en'
import zhCN from './locales/zh-CN'

export type AppLocale = 'zh-CN' | 'en'
export const LOCALES: { code: AppLocale; label: string }[] = [
  { code: 'zh-CN', label: '简体中文' },
  { code: 'en', label: 'English' },
]
const STORAGE_KEY = 'livehub.locale'

/** Saved choice first, else Chinese for Chinese browsers, else English. */
export function initialLocale(): AppLocale {
  const saved = localStorage.getItem(STORAGE_KEY)
  if (saved === 'zh-CN' || saved === 'en') return saved
  const languages = navigator.languages?.length ? navigator.languages : [navigator.language]
  return languages.some((lang) => lang?.toLowerCase().startsWith('zh')) ? 'zh-CN' : 'en'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages: { en, 'zh-CN': zhCN },
})

/** The page's language, and the server's: API error messages and server-rendered pages
 * follow Django's language cookie, which wins over the browser's Accept-Language. */
export function shareLocale(locale: AppLocale): void {
  document.documentElement.lang = locale
  const django = locale === 'zh-CN' ? 'zh-hans' : 'en'
  document.cookie = `django_language=${django}; path=/; max-age=31536000; samesite=lax`
}

export function setLocale(locale: AppLocale): void {
  i18n.global.locale.value = locale
  localStorage.setItem(STORAGE_KEY, locale)
  shareLocale(locale)
}
