; Keybearer's Windows installer, built by `make windows-installer`
; (scripts/windows-installer.sh) with Debian's makensis: Tauri's own NSIS
; bundling downloads a plugin DLL at build time, so the script is ours.
;
; Installs for the current user only (no administrator prompt) into
; %LOCALAPPDATA%\Programs\Keybearer: the desktop app, the `keybearer`
; command line beside it (the app and the apps' bridge entries start it
; from there), and WebView2Loader.dll (the MinGW build loads it at run
; time). Adds a Start-menu entry and an uninstaller listed in Settings →
; Apps. The uninstaller removes the program files only: vaults, the
; keychain entry and the apps' settings are the user's and stay.
;
; Defines (from the build script): VERSION, APP_EXE, CLI_EXE, LOADER_DLL,
; ICON, OUTFILE, and COMPRESSOR (lzma for a release, zlib for the tests).

; A 64-bit installer for the 64-bit programs (it also lets Wine run it in the tests).
Target amd64-unicode
!include "MUI2.nsh"
!include "LogicLib.nsh"

!ifndef COMPRESSOR
  !define COMPRESSOR lzma
!endif
SetCompressor /SOLID ${COMPRESSOR}

!define PRODUCT "Keybearer"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${PRODUCT}"
; Microsoft Edge WebView2 Runtime's client id: present when the runtime is installed.
!define WEBVIEW2_ID "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"

Name "${PRODUCT}"
OutFile "${OUTFILE}"
InstallDir "$LOCALAPPDATA\Programs\${PRODUCT}"
InstallDirRegKey HKCU "${UNINSTALL_KEY}" "InstallLocation"
RequestExecutionLevel user
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${PRODUCT} installer"
VIAddVersionKey "CompanyName" "Keybearer developers"
VIAddVersionKey "LegalCopyright" "MIT licence"

!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_FINISHPAGE_RUN "$INSTDIR\keybearer-app.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Open ${PRODUCT}"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Function .onInit
  ; The window needs the WebView2 Runtime (part of Windows 11 and of current
  ; Windows 10). Without it the app cannot open: say so and where to get it.
  ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_ID}" "pv"
  ${If} $0 == ""
    ReadRegStr $0 HKCU "Software\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_ID}" "pv"
  ${EndIf}
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    MessageBox MB_OK|MB_ICONINFORMATION "${PRODUCT}'s window needs Microsoft Edge WebView2 Runtime, which this computer does not have yet.$\r$\n$\r$\nThe installation will go on. Before opening ${PRODUCT}, install the runtime from:$\r$\nhttps://developer.microsoft.com/microsoft-edge/webview2/$\r$\n$\r$\nThe keybearer command line works without it." /SD IDOK
  ${EndIf}
FunctionEnd

Section "${PRODUCT}" Main
  SectionIn RO
  SetOutPath "$INSTDIR"
  File "/oname=keybearer-app.exe" "${APP_EXE}"
  File "/oname=keybearer.exe" "${CLI_EXE}"
  File "/oname=WebView2Loader.dll" "${LOADER_DLL}"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortcut "$SMPROGRAMS\${PRODUCT}.lnk" "$INSTDIR\keybearer-app.exe"

  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "Keybearer developers"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\keybearer-app.exe"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  ; Program files only: the vaults (%APPDATA%) and the keychain entry stay,
  ; so reinstalling finds everything as it was.
  Delete "$INSTDIR\keybearer-app.exe"
  Delete "$INSTDIR\keybearer.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\${PRODUCT}.lnk"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
SectionEnd
