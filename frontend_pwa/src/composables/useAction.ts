import { ref } from 'vue'
import { useI18n } from 'vue-i18n'

/** One form's request: busy while it runs, then a status line or an alert. */
export function useAction() {
  const { t } = useI18n()
  const busy = ref(false)
  const message = ref('')
  const error = ref('')
  async function run<T>(work: () => Promise<T>, success?: (result: T) => string): Promise<T | undefined> {
    busy.value = true
    message.value = ''
    error.value = ''
    try {
      const result = await work()
      if (success) message.value = success(result)
      return result
    } catch (e) {
      error.value = t('errors.generic', { message: (e as Error).message })
      return undefined
    } finally {
      busy.value = false
    }
  }
  return { busy, message, error, run }
}
