import { useI18n } from 'vue-i18n'

/** Locale-aware money (integer minor units), dates and bilingual names. */
export function useFormat() {
  const { locale } = useI18n()
  function money(amount: number, currency: string): string {
    return new Intl.NumberFormat(locale.value, { style: 'currency', currency }).format(amount / 100)
  }
  function date(iso: string): string {
    return new Intl.DateTimeFormat(locale.value, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))
  }
  /** A time of day to the second (a breaker's next probe is seconds away). */
  function time(iso: string): string {
    return new Intl.DateTimeFormat(locale.value, { timeStyle: 'medium' }).format(new Date(iso))
  }
  function name(item: { name_en: string; name_zh: string }): string {
    return locale.value === 'zh-CN' ? item.name_zh || item.name_en : item.name_en || item.name_zh
  }
  /** A variant's attribute values, in Chinese where a `<key>_zh` value exists. */
  function variantLabel(attributes: Record<string, string>, fallback: string): string {
    const zh = locale.value === 'zh-CN'
    const keys = Object.keys(attributes).filter((k) => !k.endsWith('_zh'))
    return keys.map((k) => (zh && attributes[`${k}_zh`]) || attributes[k]).join(' / ') || fallback
  }
  return { money, date, time, name, variantLabel }
}
