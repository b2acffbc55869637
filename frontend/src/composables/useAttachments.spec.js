import { describe, expect, it } from 'vitest'
import { nextTick } from 'vue'
import { useAttachments } from './useAttachments.js'
import { ATTACH_LIMITS, refusalFor } from '../api/files.js'

function file(name, size = 100) {
  return { name, size }
}

function controllableUpload() {
  const calls = []
  const upload = (f, { onProgress, signal }) =>
    new Promise((resolve, reject) => {
      signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })))
      calls.push({ file: f, onProgress, resolve, reject, signal })
    })
  return { upload, calls }
}

describe('refusalFor', () => {
  it('refuses before uploading: type, empty, too large, too many, too much together', () => {
    expect(refusalFor(file('photo.png'))).toMatch(/photo\.png.*can't be attached/)
    expect(refusalFor(file('a.md', 0))).toMatch(/a\.md.*empty/)
    expect(refusalFor(file('big.pdf', ATTACH_LIMITS.maxFileBytes + 1))).toMatch(/big\.pdf.*10 MB per file/)
    const five = Array.from({ length: 5 }, () => file('x.md'))
    expect(refusalFor(file('sixth.md'), five)).toMatch(/at most 5 files/)
    const heavy = [file('a.pdf', 9 * 1024 * 1024), file('b.pdf', 9 * 1024 * 1024)]
    expect(refusalFor(file('c.pdf', 9 * 1024 * 1024), heavy)).toMatch(/25 MB per message/)
    expect(refusalFor(file('SOP.DOCX', 2000))).toBeNull()
  })
})

describe('useAttachments', () => {
  it('uploads at once with progress and hands ready files to a message', async () => {
    const { upload, calls } = controllableUpload()
    const a = useAttachments({ upload })
    a.add([file('sop.docx', 2048)])
    expect(a.items.value[0]).toMatchObject({ name: 'sop.docx', status: 'uploading' })
    expect(a.sendable.value).toBe(false)
    calls[0].onProgress(0.5)
    expect(a.items.value[0].progress).toBe(0.5)
    calls[0].resolve({ file_id: 'f_1', media_type: 'application/x', name: 'sop.docx', size: 2048 })
    await nextTick()
    await Promise.resolve()
    expect(a.items.value[0]).toMatchObject({ status: 'ready', fileId: 'f_1' })
    expect(a.sendable.value).toBe(true)
    expect(a.take()).toEqual([{ file_id: 'f_1', name: 'sop.docx', size: 2048, media_type: 'application/x' }])
    expect(a.items.value).toEqual([])
  })

  it("keeps a refused upload with the server's message naming the file, and blocks sending until removed", async () => {
    const { upload, calls } = controllableUpload()
    const a = useAttachments({ upload })
    a.add([file('locked.pdf'), file('ok.md')])
    calls[0].reject(new Error('“locked.pdf”: the PDF is password-protected; attach an unlocked copy'))
    calls[1].resolve({ file_id: 'f_2', media_type: 'text/markdown' })
    await Promise.resolve()
    await Promise.resolve()
    expect(a.items.value[0]).toMatchObject({ status: 'error' })
    expect(a.items.value[0].error).toContain('locked.pdf')
    expect(a.sendable.value).toBe(false)
    a.remove(a.items.value[0].key)
    expect(a.sendable.value).toBe(true)
    expect(a.ready.value.map((i) => i.name)).toEqual(['ok.md'])
  })

  it('removing a file in flight aborts its upload', () => {
    const { upload, calls } = controllableUpload()
    const a = useAttachments({ upload })
    a.add([file('slow.pdf')])
    a.remove(a.items.value[0].key)
    expect(calls[0].signal.aborted).toBe(true)
    expect(a.items.value).toEqual([])
  })

  it('says why a file was not added, without touching the others', () => {
    const { upload } = controllableUpload()
    const a = useAttachments({ upload })
    a.add([file('notes.md'), file('virus.exe')])
    expect(a.items.value.map((i) => i.name)).toEqual(['notes.md'])
    expect(a.notice.value).toMatch(/virus\.exe/)
  })
})
