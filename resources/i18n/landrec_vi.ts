<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="vi_VN">
<context>
    <name>About</name>
    <message>
        <source>LandRec version</source>
        <translation>Phiên bản LandRec</translation>
    </message>
    <message>
        <source>Python</source>
        <translation>Python</translation>
    </message>
    <message>
        <source>Qt / PySide6</source>
        <translation>Qt / PySide6</translation>
    </message>
    <message>
        <source>Store</source>
        <translation>Cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>not connected</source>
        <translation>chưa kết nối</translation>
    </message>
    <message>
        <source>Store server</source>
        <translation>Máy chủ cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>PostGIS</source>
        <translation>PostGIS</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>chưa cài đặt</translation>
    </message>
    <message>
        <source>Database</source>
        <translation>Cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>Signed in as</source>
        <translation>Người dùng</translation>
    </message>
    <message>
        <source>Coordinate system</source>
        <translation>Hệ tọa độ</translation>
    </message>
    <message>
        <source>About LandRec</source>
        <translation>Giới thiệu LandRec</translation>
    </message>
    <message>
        <source>Land information system — land-records client</source>
        <translation>Hệ thống thông tin đất đai — phần mềm hồ sơ địa chính</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Đóng</translation>
    </message>
</context>
<context>
    <name>EditPanel</name>
    <message>
        <source>New parcel</source>
        <extracomment>Neighbours for snapping are fetched for views up to this many m² (≈ 1.5 × 1.5 km).</extracomment>
        <translation>Thửa mới</translation>
    </message>
    <message>
        <source>Computed area</source>
        <translation>Diện tích tính toán</translation>
    </message>
    <message>
        <source>Legal area (m²)</source>
        <translation>Diện tích pháp lý (m²)</translation>
    </message>
    <message>
        <source>Land-use code</source>
        <translation>Mã loại đất</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Địa chỉ</translation>
    </message>
    <message>
        <source>Change set</source>
        <translation>Biến động</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Loại</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Lý do</translation>
    </message>
    <message>
        <source>Dossier number</source>
        <translation>Số hồ sơ</translation>
    </message>
    <message>
        <source>Open change set</source>
        <translation>Mở biến động</translation>
    </message>
    <message>
        <source>My change sets still in draft</source>
        <translation>Các biến động tôi đang lập dở (bản nháp)</translation>
    </message>
    <message>
        <source>Continue</source>
        <translation>Tiếp tục</translation>
    </message>
    <message>
        <source>My drafts</source>
        <translation>Bản nháp của tôi</translation>
    </message>
    <message>
        <source>No change set is open</source>
        <translation>Chưa mở biến động nào</translation>
    </message>
    <message>
        <source>Tools</source>
        <translation>Công cụ</translation>
    </message>
    <message>
        <source>Split</source>
        <translation>Tách thửa</translation>
    </message>
    <message>
        <source>Merge</source>
        <translation>Hợp thửa</translation>
    </message>
    <message>
        <source>Edit boundary</source>
        <translation>Sửa ranh giới</translation>
    </message>
    <message>
        <source>Attributes…</source>
        <translation>Thuộc tính…</translation>
    </message>
    <message>
        <source>Measure distance</source>
        <translation>Đo khoảng cách</translation>
    </message>
    <message>
        <source>Measure area</source>
        <translation>Đo diện tích</translation>
    </message>
    <message>
        <source>X (north); Y (east) in VN-2000</source>
        <translation>X (Bắc); Y (Đông) theo VN-2000</translation>
    </message>
    <message>
        <source>Add point</source>
        <translation>Thêm điểm</translation>
    </message>
    <message>
        <source>Snap tolerance</source>
        <translation>Dung sai bắt điểm</translation>
    </message>
    <message>
        <source>Items of the change set</source>
        <translation>Các nội dung của biến động</translation>
    </message>
    <message>
        <source>Remove item</source>
        <translation>Xóa nội dung</translation>
    </message>
    <message>
        <source>Validation problems (click to show on the map)</source>
        <translation>Lỗi kiểm tra (bấm để xem trên bản đồ)</translation>
    </message>
    <message>
        <source>Corner coordinates</source>
        <translation>Tọa độ góc thửa</translation>
    </message>
    <message>
        <source>Point</source>
        <translation>Điểm</translation>
    </message>
    <message>
        <source>X (m)</source>
        <translation>X (m)</translation>
    </message>
    <message>
        <source>Y (m)</source>
        <translation>Y (m)</translation>
    </message>
    <message>
        <source>Edge (m)</source>
        <translation>Cạnh (m)</translation>
    </message>
    <message>
        <source>Validate</source>
        <translation>Kiểm tra</translation>
    </message>
    <message>
        <source>Submit for approval</source>
        <translation>Trình duyệt</translation>
    </message>
    <message>
        <source>Give the reason of the change set</source>
        <translation>Hãy nhập lý do biến động</translation>
    </message>
    <message>
        <source>Open a change set first (kind, reason, dossier number)</source>
        <translation>Hãy mở biến động trước (loại, lý do, số hồ sơ)</translation>
    </message>
    <message>
        <source>draft</source>
        <translation>bản nháp</translation>
    </message>
    <message>
        <source>submitted</source>
        <translation>đã trình, chờ duyệt</translation>
    </message>
    <message>
        <source>approved</source>
        <translation>đã duyệt</translation>
    </message>
    <message>
        <source>rejected</source>
        <translation>bị từ chối</translation>
    </message>
    <message>
        <source>Change set no. {id} — {kind} — {status}</source>
        <translation>Biến động số {id} — {kind} — {status}</translation>
    </message>
    <message>
        <source>parcels {ids}</source>
        <translation>thửa {ids}</translation>
    </message>
    <message>
        <source>{name}: {n} member(s)</source>
        <translation>{name}: {n} thành viên</translation>
    </message>
    <message>
        <source>split</source>
        <extracomment>Which record forms a change set of each kind offers; a certificate goes with any kind (a split, merge or transfer ends with new certificates). Kinds whose record forms sit beside the geometry tools (a parcel&apos;s attributes and a person&apos;s details are both &quot;thay đổi thuộc tính&quot;).</extracomment>
        <translation>tách thửa</translation>
    </message>
    <message>
        <source>merge</source>
        <translation>hợp thửa</translation>
    </message>
    <message>
        <source>boundary change</source>
        <translation>sửa ranh giới</translation>
    </message>
    <message>
        <source>new parcel</source>
        <translation>thửa mới</translation>
    </message>
    <message>
        <source>attributes</source>
        <translation>thuộc tính</translation>
    </message>
    <message>
        <source>transfer of rights</source>
        <translation>Chuyển quyền</translation>
    </message>
    <message>
        <source>mortgage registration</source>
        <translation>Đăng ký thế chấp</translation>
    </message>
    <message>
        <source>mortgage release</source>
        <translation>Xóa thế chấp</translation>
    </message>
    <message>
        <source>certificate issue</source>
        <translation>Cấp giấy chứng nhận</translation>
    </message>
    <message>
        <source>correction of a person&apos;s details</source>
        <translation>Sửa thông tin người sử dụng đất</translation>
    </message>
    <message>
        <source>household or couple members</source>
        <translation>Thay đổi thành viên hộ gia đình, vợ chồng</translation>
    </message>
    <message>
        <source>parcel {id}: </source>
        <translation>thửa {id}: </translation>
    </message>
    <message>
        <source>{n} problem(s) found</source>
        <translation>Có {n} lỗi</translation>
    </message>
    <message>
        <source>No problems found</source>
        <translation>Không có lỗi</translation>
    </message>
    <message>
        <source>Not submitted: fix the {n} problem(s) listed first</source>
        <translation>Chưa trình duyệt: hãy sửa {n} lỗi trong danh sách trước</translation>
    </message>
    <message>
        <source>Change set no. {id} submitted for approval</source>
        <translation>Biến động số {id} đã trình duyệt</translation>
    </message>
    <message>
        <source>Draw the split line across the parcel; Enter or a double-click finishes</source>
        <translation>Vẽ đường cắt qua thửa; nhấn Enter hoặc bấm đúp để kết thúc</translation>
    </message>
    <message>
        <source>Split of parcel {id} drafted</source>
        <translation>Đã lập tách thửa {id}</translation>
    </message>
    <message>
        <source>Not stored: the store found {n} problem(s)</source>
        <translation>Chưa lưu: cơ sở dữ liệu phát hiện {n} lỗi</translation>
    </message>
    <message>
        <source>Click the parcels to merge (Shift+click adds), then Enter</source>
        <translation>Bấm chọn các thửa cần hợp (Shift+bấm để thêm), rồi nhấn Enter</translation>
    </message>
    <message>
        <source>Merge of parcels {ids} drafted</source>
        <translation>Đã lập hợp các thửa {ids}</translation>
    </message>
    <message>
        <source>Select the one parcel to edit first</source>
        <translation>Hãy chọn một thửa cần sửa trước</translation>
    </message>
    <message>
        <source>Drag a vertex to move it, double-click an edge to add one, Ctrl+click or Delete removes one; Enter saves</source>
        <translation>Kéo đỉnh để di chuyển, bấm đúp trên cạnh để thêm đỉnh, Ctrl+bấm hoặc phím Delete để xóa đỉnh; Enter để lưu</translation>
    </message>
    <message>
        <source>Boundary change of {n} parcel(s) drafted</source>
        <translation>Đã lập sửa ranh giới {n} thửa</translation>
    </message>
    <message>
        <source>Click the corners of the new parcel, then Enter</source>
        <translation>Bấm các góc của thửa mới, rồi nhấn Enter</translation>
    </message>
    <message>
        <source>New parcel drafted</source>
        <translation>Đã lập thửa mới</translation>
    </message>
    <message>
        <source>Attributes of parcel {id}</source>
        <translation>Thuộc tính thửa {id}</translation>
    </message>
    <message>
        <source>Nothing to change</source>
        <translation>Không có gì thay đổi</translation>
    </message>
    <message>
        <source>Attribute change of parcel {id} drafted</source>
        <translation>Đã lập thay đổi thuộc tính thửa {id}</translation>
    </message>
    <message>
        <source>Click the points to measure; Enter shows the result</source>
        <translation>Bấm các điểm cần đo; nhấn Enter để xem kết quả</translation>
    </message>
    <message>
        <source>Start a drawing tool first</source>
        <translation>Hãy chọn một công cụ vẽ trước</translation>
    </message>
    <message>
        <source>Area {area}, perimeter {length}</source>
        <translation>Diện tích {area}, chu vi {length}</translation>
    </message>
    <message>
        <source>Select the one parcel on the map first</source>
        <translation>Hãy chọn một thửa trên bản đồ trước</translation>
    </message>
    <message>
        <source>Transfer of parcel {id} drafted</source>
        <translation>Đã soạn chuyển quyền thửa {id}</translation>
    </message>
    <message>
        <source>Mortgage of parcel {id} drafted</source>
        <translation>Đã soạn đăng ký thế chấp thửa {id}</translation>
    </message>
    <message>
        <source>Release of the mortgage of parcel {id} drafted</source>
        <translation>Đã soạn xóa thế chấp thửa {id}</translation>
    </message>
    <message>
        <source>Select the parcels of the certificate first</source>
        <translation>Hãy chọn các thửa của giấy chứng nhận trước</translation>
    </message>
    <message>
        <source>Certificate {serial} drafted</source>
        <translation>Đã soạn cấp giấy chứng nhận {serial}</translation>
    </message>
    <message>
        <source>Type at least two characters</source>
        <translation>Hãy gõ ít nhất hai ký tự</translation>
    </message>
    <message>
        <source>Correction of {name} drafted</source>
        <translation>Đã soạn sửa thông tin {name}</translation>
    </message>
    <message>
        <source>Members of {name} drafted</source>
        <translation>Đã soạn thay đổi thành viên của {name}</translation>
    </message>
    <message>
        <source>contract {n}</source>
        <translation>hợp đồng {n}</translation>
    </message>
    <message>
        <source>{n} new holder(s)</source>
        <translation>{n} người nhận</translation>
    </message>
</context>
<context>
    <name>EditTools</name>
    <message>
        <source>Click at least {n} points, then press Enter</source>
        <extracomment>Geometry of the problem the clerk clicked (shapely), drawn in red. Drafted new geometries of the change set, drawn in green. Snap tolerance on screen (pixels), configurable per tool. The panel&apos;s overlay: where a refused edit&apos;s place is shown (drawn there).</extracomment>
        <translation>Hãy bấm ít nhất {n} điểm rồi nhấn Enter</translation>
    </message>
    <message>
        <source>Area {area} — perimeter {length}</source>
        <translation>Diện tích {area} — chu vi {length}</translation>
    </message>
    <message>
        <source>Distance {length}</source>
        <translation>Khoảng cách {length}</translation>
    </message>
    <message>
        <source>Select at least two parcels (Shift+click), then Enter</source>
        <translation>Hãy chọn ít nhất hai thửa (Shift+bấm) rồi nhấn Enter</translation>
    </message>
    <message>
        <source>Point at the vertex to move first</source>
        <translation>Hãy trỏ chuột vào đỉnh cần di chuyển trước</translation>
    </message>
</context>
<context>
    <name>IdleLock</name>
    <message>
        <source>Session locked</source>
        <translation>Phiên làm việc đã khóa</translation>
    </message>
    <message>
        <source>The session of {name} is locked. Enter the password to continue; unsaved work is kept.</source>
        <translation>Phiên làm việc của {name} đã được khóa. Hãy nhập mật khẩu để tiếp tục; công việc chưa lưu vẫn được giữ nguyên.</translation>
    </message>
    <message>
        <source>The session of {name} was locked after {minutes} minutes without activity. Enter the password to continue; unsaved work is kept.</source>
        <translation>Phiên làm việc của {name} đã bị khóa sau {minutes} phút không thao tác. Hãy nhập mật khẩu để tiếp tục; công việc chưa lưu vẫn được giữ nguyên.</translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation>Mở khóa</translation>
    </message>
    <message>
        <source>Quit LandRec</source>
        <translation>Thoát LandRec</translation>
    </message>
    <message>
        <source>Checking the password…</source>
        <translation>Đang kiểm tra mật khẩu…</translation>
    </message>
    <message>
        <source>Wrong password. After 5 failed attempts the account is locked for 15 minutes.</source>
        <translation>Sai mật khẩu. Sau 5 lần sai liên tiếp, tài khoản bị khóa 15 phút.</translation>
    </message>
    <message>
        <source>The server cannot be reached to check the password. Your work is kept; try again when the connection is back.</source>
        <translation>Không kết nối được máy chủ để kiểm tra mật khẩu. Công việc của bạn vẫn được giữ; hãy thử lại khi có kết nối.</translation>
    </message>
</context>
<context>
    <name>LayerPanel</name>
    <message>
        <source>Up</source>
        <translation>Lên</translation>
    </message>
    <message>
        <source>Down</source>
        <translation>Xuống</translation>
    </message>
    <message>
        <source>Draw later (on top)</source>
        <translation>Vẽ sau (nằm trên)</translation>
    </message>
    <message>
        <source>Draw earlier (below)</source>
        <translation>Vẽ trước (nằm dưới)</translation>
    </message>
    <message>
        <source>Land use</source>
        <translation>Loại đất</translation>
    </message>
    <message>
        <source>Double-click a layer to zoom to it</source>
        <translation>Nhấp đúp vào một lớp để phóng tới lớp đó</translation>
    </message>
</context>
<context>
    <name>Login</name>
    <message>
        <source>Wrong user name or password. After 5 failed attempts the account is locked for 15 minutes.</source>
        <translation>Sai tên đăng nhập hoặc mật khẩu. Sau 5 lần sai liên tiếp, tài khoản bị khóa 15 phút.</translation>
    </message>
    <message>
        <source>This account is locked. Ask the system administrator to unlock it.</source>
        <translation>Tài khoản này đang bị khóa. Hãy liên hệ quản trị hệ thống để mở khóa.</translation>
    </message>
    <message>
        <source>The server {address} did not answer within {seconds} seconds. Check the network connection, or try again later.</source>
        <translation>Máy chủ {address} không trả lời trong {seconds} giây. Hãy kiểm tra kết nối mạng hoặc thử lại sau.</translation>
    </message>
    <message>
        <source>Cannot reach the server {address}. Check the network connection and the server address, or try again later.</source>
        <translation>Không kết nối được máy chủ {address}. Hãy kiểm tra kết nối mạng và địa chỉ máy chủ, hoặc thử lại sau.</translation>
    </message>
    <message>
        <source>The secure connection (TLS) to {address} failed: the server&apos;s certificate could not be verified. Check the CA file of the server profile, or ask the system administrator. Details: {detail}</source>
        <translation>Không thiết lập được kết nối an toàn (TLS) tới {address}: không xác minh được chứng thư số của máy chủ. Hãy kiểm tra tệp CA của hồ sơ máy chủ hoặc liên hệ quản trị hệ thống. Chi tiết: {detail}</translation>
    </message>
    <message>
        <source>The server has no LandRec database here: {detail}</source>
        <translation>Máy chủ không có cơ sở dữ liệu LandRec này: {detail}</translation>
    </message>
    <message>
        <source>The server does not let this account connect from this computer. Details: {detail}</source>
        <translation>Máy chủ không cho phép tài khoản này kết nối từ máy tính này. Chi tiết: {detail}</translation>
    </message>
    <message>
        <source>This database user has no LandRec account. Ask the system administrator.</source>
        <translation>Người dùng cơ sở dữ liệu này không có tài khoản LandRec. Hãy liên hệ quản trị hệ thống.</translation>
    </message>
    <message>
        <source>The server refused the sign-in: {detail}</source>
        <translation>Máy chủ từ chối đăng nhập: {detail}</translation>
    </message>
    <message>
        <source>Sign in to LandRec</source>
        <translation>Đăng nhập LandRec</translation>
    </message>
    <message>
        <source>Servers…</source>
        <translation>Máy chủ…</translation>
    </message>
    <message>
        <source>Server:</source>
        <translation>Máy chủ:</translation>
    </message>
    <message>
        <source>User name:</source>
        <translation>Tên đăng nhập:</translation>
    </message>
    <message>
        <source>Password:</source>
        <translation>Mật khẩu:</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>Đăng nhập</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Hủy</translation>
    </message>
    <message>
        <source>No server profile yet: add one.</source>
        <translation>Chưa có hồ sơ máy chủ: hãy thêm một hồ sơ.</translation>
    </message>
    <message>
        <source>no TLS</source>
        <translation>không dùng TLS</translation>
    </message>
    <message>
        <source>Choose a server profile first.</source>
        <translation>Hãy chọn hồ sơ máy chủ trước.</translation>
    </message>
    <message>
        <source>Enter the user name and the password.</source>
        <translation>Hãy nhập tên đăng nhập và mật khẩu.</translation>
    </message>
    <message>
        <source>Signing in…</source>
        <translation>Đang đăng nhập…</translation>
    </message>
    <message>
        <source>Server profiles</source>
        <translation>Hồ sơ máy chủ</translation>
    </message>
    <message>
        <source>empty: the system&apos;s CA list</source>
        <translation>để trống: dùng danh sách CA của hệ thống</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Chọn…</translation>
    </message>
    <message>
        <source>Profile name:</source>
        <translation>Tên hồ sơ:</translation>
    </message>
    <message>
        <source>Host:</source>
        <translation>Địa chỉ máy chủ:</translation>
    </message>
    <message>
        <source>Port:</source>
        <translation>Cổng:</translation>
    </message>
    <message>
        <source>Database:</source>
        <translation>Cơ sở dữ liệu:</translation>
    </message>
    <message>
        <source>TLS mode:</source>
        <translation>Chế độ TLS:</translation>
    </message>
    <message>
        <source>CA file:</source>
        <translation>Tệp CA:</translation>
    </message>
    <message>
        <source>New</source>
        <translation>Thêm mới</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Lưu</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>Xóa</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Đóng</translation>
    </message>
    <message>
        <source>CA certificate</source>
        <translation>Chứng thư CA</translation>
    </message>
    <message>
        <source>Not saved: {error}</source>
        <translation>Chưa lưu được: {error}</translation>
    </message>
    <message>
        <source>Remove the profile {name}?</source>
        <translation>Xóa hồ sơ {name}?</translation>
    </message>
    <message>
        <source>The profile name must have 1–80 characters and differ from the others.</source>
        <translation>Tên hồ sơ phải có 1–80 ký tự và khác tên các hồ sơ khác.</translation>
    </message>
    <message>
        <source>The host must be a host name or an IP address.</source>
        <translation>Địa chỉ máy chủ phải là tên máy hoặc địa chỉ IP.</translation>
    </message>
    <message>
        <source>The port must be between 1 and 65535.</source>
        <translation>Cổng phải nằm trong khoảng 1–65535.</translation>
    </message>
    <message>
        <source>The database name must have 1–63 characters.</source>
        <translation>Tên cơ sở dữ liệu phải có 1–63 ký tự.</translation>
    </message>
    <message>
        <source>A remote server must be verified: TLS mode verify-full or verify-ca.</source>
        <translation>Máy chủ từ xa phải được xác minh: chế độ TLS verify-full hoặc verify-ca.</translation>
    </message>
    <message>
        <source>The CA file does not exist.</source>
        <translation>Không tìm thấy tệp CA.</translation>
    </message>
    <message>
        <source>You must change the password before using LandRec.</source>
        <translation>Bạn phải đổi mật khẩu trước khi sử dụng LandRec.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>LandRec — Land information system</source>
        <extracomment>How often the connection is re-checked (ms). Emitted on the UI thread after each successful summary read. Emitted when reading the summary failed (message). Emitted when the connection state flips (True: connected).</extracomment>
        <translation>LandRec — Hệ thống thông tin đất đai</translation>
    </message>
    <message>
        <source>Connecting…</source>
        <translation>Đang kết nối…</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Tệp</translation>
    </message>
    <message>
        <source>&amp;Refresh</source>
        <translation>&amp;Làm mới</translation>
    </message>
    <message>
        <source>Read the store summary again</source>
        <translation>Đọc lại thông tin cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>T&amp;hoát</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Hiển thị</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>Trợ &amp;giúp</translation>
    </message>
    <message>
        <source>Store summary</source>
        <translation>Tổng quan cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>About</source>
        <translation>Giới thiệu</translation>
    </message>
    <message>
        <source>Change &amp;password…</source>
        <translation>Đổi &amp;mật khẩu…</translation>
    </message>
    <message>
        <source>&amp;Lock the session</source>
        <translation>&amp;Khóa phiên làm việc</translation>
    </message>
    <message>
        <source>Two-factor authentication…</source>
        <translation>Xác thực hai lớp…</translation>
    </message>
    <message>
        <source>Layers</source>
        <translation>Lớp bản đồ</translation>
    </message>
    <message>
        <source>Map</source>
        <translation>Bản đồ</translation>
    </message>
    <message>
        <source>Pan</source>
        <translation>Di chuyển</translation>
    </message>
    <message>
        <source>Identify</source>
        <translation>Xem thông tin</translation>
    </message>
    <message>
        <source>Select</source>
        <translation>Chọn</translation>
    </message>
    <message>
        <source>Zoom to box</source>
        <translation>Phóng theo khung</translation>
    </message>
    <message>
        <source>Whole province</source>
        <translation>Toàn tỉnh</translation>
    </message>
    <message>
        <source>Zoom to selection</source>
        <translation>Phóng tới thửa đã chọn</translation>
    </message>
    <message>
        <source>Previous extent</source>
        <translation>Khung nhìn trước</translation>
    </message>
    <message>
        <source>Next extent</source>
        <translation>Khung nhìn sau</translation>
    </message>
    <message>
        <source>Zoom to commune</source>
        <translation>Phóng tới xã</translation>
    </message>
    <message>
        <source>Zoom to commune…</source>
        <translation>Phóng tới xã…</translation>
    </message>
    <message>
        <source>The map lost the connection</source>
        <translation>Bản đồ mất kết nối</translation>
    </message>
    <message>
        <source>Reconnecting (attempt {n})…</source>
        <translation>Đang kết nối lại (lần {n})…</translation>
    </message>
    <message>
        <source>The link to the server dropped</source>
        <translation>Mất đường truyền tới máy chủ</translation>
    </message>
    <message>
        <source>Needs a connection to the store</source>
        <translation>Cần kết nối tới cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>Your account does not have this right</source>
        <translation>Tài khoản của bạn không có quyền này</translation>
    </message>
    <message>
        <source>This command failed: {error}</source>
        <translation>Lệnh không thực hiện được: {error}</translation>
    </message>
    <message>
        <source>User: {user}</source>
        <translation>Người dùng: {user}</translation>
    </message>
    <message>
        <source>Login refused: automatic re-connection stopped so that the account is not locked. Check the account, then press F5.</source>
        <translation>Đăng nhập bị từ chối: đã dừng tự động kết nối lại để tài khoản không bị khóa. Kiểm tra tài khoản rồi nhấn F5.</translation>
    </message>
    <message>
        <source>Connected: {address}</source>
        <translation>Đã kết nối: {address}</translation>
    </message>
    <message>
        <source>Disconnected</source>
        <translation>Mất kết nối</translation>
    </message>
    <message>
        <source>User: {name} — {unit}</source>
        <translation>Người dùng: {name} — {unit}</translation>
    </message>
    <message>
        <source>(administration locked: no second factor)</source>
        <translation>(chưa mở chức năng quản trị: chưa xác thực hai lớp)</translation>
    </message>
    <message>
        <source>The password was changed.</source>
        <translation>Đã đổi mật khẩu.</translation>
    </message>
</context>
<context>
    <name>MapCanvas</name>
    <message>
        <source>Offline — retrying…</source>
        <extracomment>A press that moved less than this (px) is a click. Delay before fetching after a view change (ms): a burst of wheel notches asks once. Retry after a lost connection: first delay and cap (ms), doubling in between. Build the identify index on the worker for views up to this many parcels. generation, view, image, {layer id: LayerData}, final, timings layer id, its extent (minx, miny, maxx, maxy) or None, or the exception Painters drawn over the map whatever tool is active (an editor&apos;s drafts and problem markers): each gets the painter and the view, in pixel space. Who handles a dropped link (the window&apos;s session: app.session.Session. report_link_error, True when it took over reconnecting and will say when the link is back, and the window then calls refresh()). None: retry here. The server&apos;s message when it refused the last view (shown on the map).</extracomment>
        <translation>Mất kết nối — đang thử lại…</translation>
    </message>
</context>
<context>
    <name>MapStatus</name>
    <message>
        <source>Cursor position, VN-2000 (X, Y)</source>
        <translation>Vị trí con trỏ, VN-2000 (X, Y)</translation>
    </message>
    <message>
        <source>Cursor position, WGS 84 (lat, lon)</source>
        <translation>Vị trí con trỏ, WGS 84 (vĩ độ, kinh độ)</translation>
    </message>
    <message>
        <source>Map scale: type 1:N and press Enter</source>
        <translation>Tỷ lệ bản đồ: gõ 1:N rồi nhấn Enter</translation>
    </message>
</context>
<context>
    <name>ParcelPanel</name>
    <message>
        <source>Parcel</source>
        <extracomment>A scanned document of the parcel was double-clicked: its doc.document id (the dossier subsystem opens it in its viewer).</extracomment>
        <translation>Thửa đất</translation>
    </message>
    <message>
        <source>Choose a parcel on the map or in the search</source>
        <translation>Chọn một thửa trên bản đồ hoặc trong kết quả tìm kiếm</translation>
    </message>
    <message>
        <source>Commune</source>
        <translation>Xã, phường</translation>
    </message>
    <message>
        <source>Map sheet</source>
        <translation>Tờ bản đồ</translation>
    </message>
    <message>
        <source>Parcel number</source>
        <translation>Số thửa</translation>
    </message>
    <message>
        <source>National parcel ID</source>
        <translation>Mã thửa đất quốc gia</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Địa chỉ</translation>
    </message>
    <message>
        <source>Legal area</source>
        <translation>Diện tích pháp lý</translation>
    </message>
    <message>
        <source>Computed area</source>
        <translation>Diện tích tính toán</translation>
    </message>
    <message>
        <source>Main land use</source>
        <translation>Mục đích chính</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>Phiên bản</translation>
    </message>
    <message>
        <source>Restrictions</source>
        <translation>Hạn chế</translation>
    </message>
    <message>
        <source>Mortgages</source>
        <translation>Thế chấp</translation>
    </message>
    <message>
        <source>General</source>
        <translation>Thông tin chung</translation>
    </message>
    <message>
        <source>Code</source>
        <translation>Mã</translation>
    </message>
    <message>
        <source>Land use</source>
        <translation>Mục đích sử dụng</translation>
    </message>
    <message>
        <source>Area</source>
        <translation>Diện tích</translation>
    </message>
    <message>
        <source>Until</source>
        <translation>Thời hạn</translation>
    </message>
    <message>
        <source>Origin</source>
        <translation>Nguồn gốc</translation>
    </message>
    <message>
        <source>Holder</source>
        <translation>Chủ sử dụng</translation>
    </message>
    <message>
        <source>Right</source>
        <translation>Quyền</translation>
    </message>
    <message>
        <source>Share</source>
        <translation>Tỷ lệ</translation>
    </message>
    <message>
        <source>ID number</source>
        <translation>Số định danh</translation>
    </message>
    <message>
        <source>From</source>
        <translation>Từ ngày</translation>
    </message>
    <message>
        <source>To</source>
        <translation>Đến ngày</translation>
    </message>
    <message>
        <source>Show ID number</source>
        <translation>Hiện số định danh</translation>
    </message>
    <message>
        <source>Holders</source>
        <translation>Chủ sử dụng</translation>
    </message>
    <message>
        <source>Serial</source>
        <translation>Số phát hành</translation>
    </message>
    <message>
        <source>Register no.</source>
        <translation>Số vào sổ</translation>
    </message>
    <message>
        <source>Issued on</source>
        <translation>Ngày cấp</translation>
    </message>
    <message>
        <source>Issuer</source>
        <translation>Cơ quan cấp</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Trạng thái</translation>
    </message>
    <message>
        <source>Certificates</source>
        <translation>Giấy chứng nhận</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>Ngày</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Loại</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>Lý do</translation>
    </message>
    <message>
        <source>Mutations</source>
        <translation>Biến động</translation>
    </message>
    <message>
        <source>Price table</source>
        <translation>Bảng giá</translation>
    </message>
    <message>
        <source>Segment or zone</source>
        <translation>Đoạn đường hoặc khu vực</translation>
    </message>
    <message>
        <source>Position</source>
        <translation>Vị trí</translation>
    </message>
    <message>
        <source>Unit price</source>
        <translation>Đơn giá</translation>
    </message>
    <message>
        <source>Depth rule</source>
        <translation>Quy tắc chiều sâu</translation>
    </message>
    <message>
        <source>Adjustment coefficient</source>
        <translation>Hệ số điều chỉnh</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Giá trị</translation>
    </message>
    <message>
        <source>Land price</source>
        <translation>Giá đất</translation>
    </message>
    <message>
        <source>Planned use</source>
        <translation>Mục đích quy hoạch</translation>
    </message>
    <message>
        <source>Zone</source>
        <translation>Khu</translation>
    </message>
    <message>
        <source>Plan</source>
        <translation>Quy hoạch, kế hoạch</translation>
    </message>
    <message>
        <source>Planning</source>
        <translation>Quy hoạch</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>Loại</translation>
    </message>
    <message>
        <source>Number</source>
        <translation>Số</translation>
    </message>
    <message>
        <source>Pages</source>
        <translation>Số trang</translation>
    </message>
    <message>
        <source>File</source>
        <translation>Tệp</translation>
    </message>
    <message>
        <source>Scanned documents</source>
        <translation>Hồ sơ quét</translation>
    </message>
    <message>
        <source>As of</source>
        <translation>Tại ngày</translation>
    </message>
    <message>
        <source>Lineage</source>
        <translation>Nguồn gốc thửa (tách, hợp)</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Lịch sử</translation>
    </message>
    <message>
        <source>Reading parcel…</source>
        <translation>Đang đọc thửa đất…</translation>
    </message>
    <message>
        <source>Parcel %1, sheet %2, %3</source>
        <translation>Thửa %1, tờ %2, %3</translation>
    </message>
    <message>
        <source>None</source>
        <translation>Không có</translation>
    </message>
    <message>
        <source>%1, contract %2, registered %3</source>
        <translation>%1, hợp đồng số %2, đăng ký ngày %3</translation>
    </message>
    <message>
        <source>Released earlier: %1</source>
        <translation>Đã xóa thế chấp trước đây: %1</translation>
    </message>
    <message>
        <source>Long-term</source>
        <translation>Lâu dài</translation>
    </message>
    <message>
        <source>Your account has no right to read this subsystem</source>
        <translation>Tài khoản không có quyền xem phân hệ này</translation>
    </message>
    <message>
        <source>Not priced</source>
        <translation>Chưa có giá</translation>
    </message>
    <message>
        <source>Parcel %1, sheet %2, %3 — %4, version %5, valid %6 – %7</source>
        <translation>Thửa %1, tờ %2, %3 — %4, phiên bản %5, hiệu lực %6 – %7</translation>
    </message>
    <message>
        <source>The parcel did not exist on that date</source>
        <translation>Thửa đất chưa có hoặc đã ngừng vào ngày này</translation>
    </message>
    <message>
        <source>from</source>
        <translation>từ</translation>
    </message>
    <message>
        <source>to</source>
        <translation>thành</translation>
    </message>
    <message>
        <source>parcel %1, sheet %2</source>
        <translation>thửa %1, tờ %2</translation>
    </message>
</context>
<context>
    <name>Password</name>
    <message>
        <source>Change password</source>
        <translation>Đổi mật khẩu</translation>
    </message>
    <message>
        <source>This is your first sign-in, or your password was reset: choose a new password before you continue.</source>
        <translation>Đây là lần đăng nhập đầu tiên hoặc mật khẩu vừa được cấp lại: hãy đặt mật khẩu mới trước khi tiếp tục.</translation>
    </message>
    <message>
        <source>Choose a new password for {user}.</source>
        <translation>Đặt mật khẩu mới cho {user}.</translation>
    </message>
    <message>
        <source>More than 8 characters, with upper-case and lower-case letters, a digit and a special character; not containing the user name, not a common password, not one of your last 5.</source>
        <translation>Dài hơn 8 ký tự, có chữ hoa, chữ thường, chữ số và ký tự đặc biệt; không chứa tên đăng nhập, không phải mật khẩu phổ biến, không trùng 5 mật khẩu gần nhất.</translation>
    </message>
    <message>
        <source>Current password:</source>
        <translation>Mật khẩu hiện tại:</translation>
    </message>
    <message>
        <source>New password:</source>
        <translation>Mật khẩu mới:</translation>
    </message>
    <message>
        <source>Repeat the new password:</source>
        <translation>Nhập lại mật khẩu mới:</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Hủy</translation>
    </message>
    <message>
        <source>Enter the current and the new password.</source>
        <translation>Hãy nhập mật khẩu hiện tại và mật khẩu mới.</translation>
    </message>
    <message>
        <source>The two new passwords differ.</source>
        <translation>Hai lần nhập mật khẩu mới không khớp nhau.</translation>
    </message>
    <message>
        <source>The new password must differ from the current one.</source>
        <translation>Mật khẩu mới phải khác mật khẩu hiện tại.</translation>
    </message>
    <message>
        <source>Changing the password…</source>
        <translation>Đang đổi mật khẩu…</translation>
    </message>
    <message>
        <source>The current password is wrong.</source>
        <translation>Mật khẩu hiện tại không đúng.</translation>
    </message>
</context>
<context>
    <name>RecordForms</name>
    <message>
        <source>Share «{s}» is not a number (write 1/2, 0,5 or 50%)</source>
        <translation>Phần quyền «{s}» không phải là số (viết 1/2, 0,5 hoặc 50%)</translation>
    </message>
    <message>
        <source>A share must be more than 0 and at most 1</source>
        <translation>Phần quyền phải lớn hơn 0 và không quá 1</translation>
    </message>
    <message>
        <source>{what}: «{t}» is not a date dd/mm/yyyy</source>
        <translation>{what}: «{t}» không phải ngày dạng dd/mm/yyyy</translation>
    </message>
    <message>
        <source>The secured amount is written in digits: 500.000.000</source>
        <translation>Số tiền bảo đảm viết bằng chữ số: 500.000.000</translation>
    </message>
    <message>
        <source>Right</source>
        <translation>Quyền</translation>
    </message>
    <message>
        <source>Share of the next holder</source>
        <translation>Phần quyền người kế tiếp</translation>
    </message>
    <message>
        <source>A person already in the records</source>
        <translation>Người đã có trong hồ sơ</translation>
    </message>
    <message>
        <source>ID number or full name</source>
        <translation>Số giấy tờ hoặc họ tên</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>Tìm</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>Thêm</translation>
    </message>
    <message>
        <source>A new person, household or organisation</source>
        <translation>Người, hộ gia đình hoặc tổ chức mới</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Loại</translation>
    </message>
    <message>
        <source>Full name</source>
        <translation>Họ tên</translation>
    </message>
    <message>
        <source>none</source>
        <translation>không có</translation>
    </message>
    <message>
        <source>passport</source>
        <translation>hộ chiếu</translation>
    </message>
    <message>
        <source>tax code</source>
        <translation>mã số thuế</translation>
    </message>
    <message>
        <source>Document</source>
        <translation>Giấy tờ</translation>
    </message>
    <message>
        <source>Birth year</source>
        <translation>Năm sinh</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Địa chỉ</translation>
    </message>
    <message>
        <source>Add this new holder</source>
        <translation>Thêm người nhận mới này</translation>
    </message>
    <message>
        <source>New holder</source>
        <translation>Người nhận quyền</translation>
    </message>
    <message>
        <source>Share</source>
        <translation>Phần quyền</translation>
    </message>
    <message>
        <source>Remove row</source>
        <translation>Xóa dòng</translation>
    </message>
    <message>
        <source>Save the transfer</source>
        <translation>Lưu chuyển quyền</translation>
    </message>
    <message>
        <source>Nobody in your area matches</source>
        <translation>Không có ai trong địa bàn của bạn khớp</translation>
    </message>
    <message>
        <source>Find the person first</source>
        <translation>Hãy tìm người đó trước</translation>
    </message>
    <message>
        <source>This person is already in the table</source>
        <translation>Người này đã có trong bảng</translation>
    </message>
    <message>
        <source>Give the new holder&apos;s full name</source>
        <translation>Hãy nhập họ tên người nhận mới</translation>
    </message>
    <message>
        <source>Choose the kind of document of the number</source>
        <translation>Hãy chọn loại giấy tờ của số này</translation>
    </message>
    <message>
        <source>Land use right</source>
        <translation>Quyền sử dụng đất</translation>
    </message>
    <message>
        <source>Land management right</source>
        <translation>Quyền quản lý đất</translation>
    </message>
    <message>
        <source>Ownership of assets on the land</source>
        <translation>Quyền sở hữu tài sản gắn liền với đất</translation>
    </message>
    <message>
        <source>Individual</source>
        <translation>Cá nhân</translation>
    </message>
    <message>
        <source>Household</source>
        <translation>Hộ gia đình</translation>
    </message>
    <message>
        <source>Married couple</source>
        <translation>Vợ chồng</translation>
    </message>
    <message>
        <source>Organisation</source>
        <translation>Tổ chức</translation>
    </message>
    <message>
        <source>Residential community</source>
        <translation>Cộng đồng dân cư</translation>
    </message>
    <message>
        <source>head of household</source>
        <translation>chủ hộ</translation>
    </message>
    <message>
        <source>wife</source>
        <translation>vợ</translation>
    </message>
    <message>
        <source>husband</source>
        <translation>chồng</translation>
    </message>
    <message>
        <source>child</source>
        <translation>con</translation>
    </message>
    <message>
        <source>member</source>
        <translation>thành viên</translation>
    </message>
    <message>
        <source>A CCCD number has exactly 12 digits ({n} typed)</source>
        <translation>Số CCCD phải có đúng 12 chữ số (đã gõ {n})</translation>
    </message>
    <message>
        <source>A CMND number has exactly 9 digits ({n} typed)</source>
        <translation>Số CMND phải có đúng 9 chữ số (đã gõ {n})</translation>
    </message>
    <message>
        <source>A passport number has 6 to 12 capitals and digits</source>
        <translation>Số hộ chiếu gồm 6–12 chữ cái in hoa và chữ số</translation>
    </message>
    <message>
        <source>A tax code has 10 digits, or 10 digits, a dash and 3</source>
        <translation>Mã số thuế có 10 chữ số, hoặc 10 chữ số, gạch nối và 3 chữ số</translation>
    </message>
    <message>
        <source>{name} added</source>
        <translation>Đã thêm {name}</translation>
    </message>
    <message>
        <source>A share in the table is not a number</source>
        <translation>Có phần quyền trong bảng không phải là số</translation>
    </message>
    <message>
        <source>Total of shares: {t}</source>
        <translation>Tổng phần quyền: {t}</translation>
    </message>
    <message>
        <source>must be 1</source>
        <translation>phải bằng 1</translation>
    </message>
    <message>
        <source>Select the parcel on the map</source>
        <translation>Hãy chọn thửa trên bản đồ</translation>
    </message>
    <message>
        <source>Holders now: {names}</source>
        <translation>Người đang có quyền: {names}</translation>
    </message>
    <message>
        <source>Add at least one new holder</source>
        <translation>Hãy thêm ít nhất một người nhận</translation>
    </message>
    <message>
        <source>Not sent: the shares add up to {t}, they must make 1</source>
        <translation>Chưa gửi: tổng phần quyền là {t}, phải bằng 1</translation>
    </message>
    <message>
        <source>bank or credit institution</source>
        <translation>ngân hàng, tổ chức tín dụng</translation>
    </message>
    <message>
        <source>Lender</source>
        <translation>Bên nhận thế chấp</translation>
    </message>
    <message>
        <source>Contract number</source>
        <translation>Số hợp đồng</translation>
    </message>
    <message>
        <source>Registered on</source>
        <translation>Ngày đăng ký</translation>
    </message>
    <message>
        <source>optional, VND</source>
        <translation>không bắt buộc, đồng</translation>
    </message>
    <message>
        <source>Secured amount (VND)</source>
        <translation>Số tiền bảo đảm (đồng)</translation>
    </message>
    <message>
        <source>Save the mortgage</source>
        <translation>Lưu đăng ký thế chấp</translation>
    </message>
    <message>
        <source>Give the lender and the contract number</source>
        <translation>Hãy nhập bên nhận thế chấp và số hợp đồng</translation>
    </message>
    <message>
        <source>No mortgage in force on this parcel</source>
        <translation>Thửa này không có thế chấp nào đang hiệu lực</translation>
    </message>
    <message>
        <source>Mortgages in force: {n}</source>
        <translation>Đang thế chấp: {n} hợp đồng</translation>
    </message>
    <message>
        <source>{lender}, contract {contract}, registered {day}</source>
        <translation>{lender}, hợp đồng {contract}, đăng ký {day}</translation>
    </message>
    <message>
        <source>Mortgages in force on the selected parcel</source>
        <translation>Các thế chấp đang hiệu lực của thửa đã chọn</translation>
    </message>
    <message>
        <source>Released on</source>
        <translation>Ngày xóa</translation>
    </message>
    <message>
        <source>Save the release</source>
        <translation>Lưu xóa thế chấp</translation>
    </message>
    <message>
        <source>Pick the mortgage to release</source>
        <translation>Hãy chọn thế chấp cần xóa</translation>
    </message>
    <message>
        <source>Parcels</source>
        <translation>Các thửa</translation>
    </message>
    <message>
        <source>Serial</source>
        <translation>Số phát hành</translation>
    </message>
    <message>
        <source>Register number</source>
        <translation>Số vào sổ</translation>
    </message>
    <message>
        <source>Issued on</source>
        <translation>Ngày cấp</translation>
    </message>
    <message>
        <source>e.g. Sở Tài nguyên và Môi trường</source>
        <translation>vd. Sở Tài nguyên và Môi trường</translation>
    </message>
    <message>
        <source>Issuer</source>
        <translation>Cơ quan cấp</translation>
    </message>
    <message>
        <source>Save the certificate</source>
        <translation>Lưu cấp giấy chứng nhận</translation>
    </message>
    <message>
        <source>Two letters, a space, 6 to 8 digits: AB 123456</source>
        <translation>Hai chữ cái, một dấu cách, 6 đến 8 chữ số: AB 123456</translation>
    </message>
    <message>
        <source>Serial well formed ✓</source>
        <translation>Số phát hành hợp lệ ✓</translation>
    </message>
    <message>
        <source>«{s}» is not a serial: two letters, a space, 6 to 8 digits (AB 123456)</source>
        <translation>«{s}» không phải số phát hành: hai chữ cái, một dấu cách, 6 đến 8 chữ số (AB 123456)</translation>
    </message>
    <message>
        <source>select the parcels on the map</source>
        <translation>hãy chọn các thửa trên bản đồ</translation>
    </message>
    <message>
        <source>Give the register number and the issuer</source>
        <translation>Hãy nhập số vào sổ và cơ quan cấp</translation>
    </message>
    <message>
        <source>Find the person to correct</source>
        <translation>Hãy tìm người cần sửa thông tin</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Thông tin</translation>
    </message>
    <message>
        <source>male</source>
        <translation>nam</translation>
    </message>
    <message>
        <source>female</source>
        <translation>nữ</translation>
    </message>
    <message>
        <source>Gender</source>
        <translation>Giới tính</translation>
    </message>
    <message>
        <source>Save the correction</source>
        <translation>Lưu sửa thông tin</translation>
    </message>
    <message>
        <source>Members</source>
        <translation>Thành viên</translation>
    </message>
    <message>
        <source>Member</source>
        <translation>Thành viên</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Vai trò</translation>
    </message>
    <message>
        <source>Existing person: ID number or name</source>
        <translation>Người đã có: số giấy tờ hoặc họ tên</translation>
    </message>
    <message>
        <source>New person: full name</source>
        <translation>Người mới: họ tên</translation>
    </message>
    <message>
        <source>CCCD (12 digits)</source>
        <translation>CCCD (12 chữ số)</translation>
    </message>
    <message>
        <source>birth year</source>
        <translation>năm sinh</translation>
    </message>
    <message>
        <source>Add this new person</source>
        <translation>Thêm người mới này</translation>
    </message>
    <message>
        <source>Save the members</source>
        <translation>Lưu danh sách thành viên</translation>
    </message>
    <message>
        <source>{kind} {name}, version {v}</source>
        <translation>{kind} {name}, phiên bản {v}</translation>
    </message>
    <message>
        <source>Document number well formed ✓</source>
        <translation>Số giấy tờ hợp lệ ✓</translation>
    </message>
    <message>
        <source>The full name cannot be empty</source>
        <translation>Họ tên không được để trống</translation>
    </message>
    <message>
        <source>Type the whole new document number</source>
        <translation>Hãy gõ đầy đủ số giấy tờ mới</translation>
    </message>
    <message>
        <source>Give the document number</source>
        <translation>Hãy nhập số giấy tờ</translation>
    </message>
    <message>
        <source>Nothing changed: edit a field first</source>
        <translation>Chưa có gì thay đổi: hãy sửa một thông tin trước</translation>
    </message>
    <message>
        <source>Give the new person&apos;s full name</source>
        <translation>Hãy nhập họ tên người mới</translation>
    </message>
    <message>
        <source>Find the household or couple first</source>
        <translation>Hãy tìm hộ gia đình hoặc vợ chồng trước</translation>
    </message>
    <message>
        <source>Add at least one member</source>
        <translation>Hãy thêm ít nhất một thành viên</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>Chuyển quyền</translation>
    </message>
    <message>
        <source>Mortgage</source>
        <translation>Thế chấp</translation>
    </message>
    <message>
        <source>Release</source>
        <translation>Xóa thế chấp</translation>
    </message>
    <message>
        <source>Certificate</source>
        <translation>Cấp GCN</translation>
    </message>
    <message>
        <source>Person</source>
        <translation>Người sử dụng đất</translation>
    </message>
</context>
<context>
    <name>ReviewDialog</name>
    <message>
        <source>Review change sets</source>
        <translation>Duyệt biến động</translation>
    </message>
    <message>
        <source>Submitted change sets</source>
        <translation>Biến động chờ duyệt</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>Làm mới</translation>
    </message>
    <message>
        <source>Differences</source>
        <translation>Thay đổi</translation>
    </message>
    <message>
        <source>Parcel</source>
        <translation>Thửa</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>Trường</translation>
    </message>
    <message>
        <source>Before</source>
        <translation>Trước</translation>
    </message>
    <message>
        <source>After</source>
        <translation>Sau</translation>
    </message>
    <message>
        <source>Left: the parcels now (red). Right: after approval (blue), over the old outlines (red, dashed)</source>
        <translation>Bên trái: các thửa hiện tại (đỏ). Bên phải: sau khi duyệt (xanh), trên ranh giới cũ (nét đứt đỏ)</translation>
    </message>
    <message>
        <source>Records</source>
        <translation>Nội dung hồ sơ (quyền, thế chấp, giấy chứng nhận)</translation>
    </message>
    <message>
        <source>Validation</source>
        <translation>Kết quả kiểm tra</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>Ý kiến</translation>
    </message>
    <message>
        <source>Approve</source>
        <translation>Phê duyệt</translation>
    </message>
    <message>
        <source>Reject</source>
        <translation>Từ chối</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Đóng</translation>
    </message>
    <message>
        <source>No change set is waiting for approval</source>
        <translation>Không có biến động nào chờ duyệt</translation>
    </message>
    <message>
        <source>Change set no. {id}: {kind}
Reason: {reason}
Dossier: {dossier}
Drafted by {who} on {when}</source>
        <translation>Biến động số {id}: {kind}
Lý do: {reason}
Số hồ sơ: {dossier}
Người lập: {who}, lúc {when}</translation>
    </message>
    <message>
        <source>No validation problems</source>
        <translation>Không có lỗi kiểm tra</translation>
    </message>
    <message>
        <source>new</source>
        <translation>mới</translation>
    </message>
    <message>
        <source>Area</source>
        <translation>Diện tích</translation>
    </message>
    <message>
        <source>Land use</source>
        <translation>Loại đất</translation>
    </message>
    <message>
        <source>as before, scaled to the area</source>
        <translation>như cũ, chia theo diện tích</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Địa chỉ</translation>
    </message>
    <message>
        <source>Legal area</source>
        <translation>Diện tích pháp lý</translation>
    </message>
    <message>
        <source>{label} — parcel {parcels}</source>
        <translation>{label} — thửa {parcels}</translation>
    </message>
    <message>
        <source>Change set no. {id} approved; new parcels: {ids}</source>
        <translation>Đã duyệt biến động số {id}; thửa mới: {ids}</translation>
    </message>
    <message>
        <source>Give the reason of the rejection</source>
        <translation>Hãy nhập lý do từ chối</translation>
    </message>
    <message>
        <source>Change set no. {id} rejected</source>
        <translation>Đã từ chối biến động số {id}</translation>
    </message>
    <message>
        <source>born {y}</source>
        <translation>sinh năm {y}</translation>
    </message>
    <message>
        <source>new person, created on approval</source>
        <translation>người mới, tạo khi duyệt</translation>
    </message>
    <message>
        <source>{who} — share {share}</source>
        <translation>{who} — phần quyền {share}</translation>
    </message>
    <message>
        <source>Holders now:</source>
        <translation>Người đang có quyền:</translation>
    </message>
    <message>
        <source>After approval:</source>
        <translation>Sau khi duyệt:</translation>
    </message>
    <message>
        <source>Lender: {x}</source>
        <translation>Bên nhận thế chấp: {x}</translation>
    </message>
    <message>
        <source>Contract no.: {x}</source>
        <translation>Số hợp đồng: {x}</translation>
    </message>
    <message>
        <source>Registered on: {x}</source>
        <translation>Ngày đăng ký: {x}</translation>
    </message>
    <message>
        <source>Secured amount: {x}</source>
        <translation>Số tiền bảo đảm: {x}</translation>
    </message>
    <message>
        <source>Released on: {x}</source>
        <translation>Ngày xóa: {x}</translation>
    </message>
    <message>
        <source>Other mortgages in force on the parcel: {x}</source>
        <translation>Thế chấp khác đang có hiệu lực trên thửa: {x}</translation>
    </message>
    <message>
        <source>none</source>
        <translation>không có</translation>
    </message>
    <message>
        <source>Serial: {x}</source>
        <translation>Số phát hành: {x}</translation>
    </message>
    <message>
        <source>Register no.: {x}</source>
        <translation>Số vào sổ: {x}</translation>
    </message>
    <message>
        <source>Issued on: {x}</source>
        <translation>Ngày cấp: {x}</translation>
    </message>
    <message>
        <source>Issuer: {x}</source>
        <translation>Cơ quan cấp: {x}</translation>
    </message>
    <message>
        <source>Replaces (becomes «cấp đổi»): {x}</source>
        <translation>Thay cho (thành «cấp đổi»): {x}</translation>
    </message>
    <message>
        <source>{serial} issued {day}</source>
        <translation>{serial} cấp ngày {day}</translation>
    </message>
    <message>
        <source>no certificate in force</source>
        <translation>không có giấy nào đang hiệu lực</translation>
    </message>
    <message>
        <source>{kind} {name} (version {v})</source>
        <translation>{kind} {name} (phiên bản {v})</translation>
    </message>
    <message>
        <source>Members now:</source>
        <translation>Thành viên hiện tại:</translation>
    </message>
    <message>
        <source>full name</source>
        <translation>họ tên</translation>
    </message>
    <message>
        <source>gender</source>
        <translation>giới tính</translation>
    </message>
    <message>
        <source>birth year</source>
        <translation>năm sinh</translation>
    </message>
    <message>
        <source>document kind</source>
        <translation>loại giấy tờ</translation>
    </message>
    <message>
        <source>document number</source>
        <translation>số giấy tờ</translation>
    </message>
    <message>
        <source>address</source>
        <translation>địa chỉ</translation>
    </message>
    <message>
        <source>male</source>
        <translation>nam</translation>
    </message>
    <message>
        <source>female</source>
        <translation>nữ</translation>
    </message>
    <message>
        <source>passport</source>
        <translation>hộ chiếu</translation>
    </message>
    <message>
        <source>tax code</source>
        <translation>mã số thuế</translation>
    </message>
</context>
<context>
    <name>SearchPanel</name>
    <message>
        <source>Owner</source>
        <translation>Chủ sử dụng</translation>
    </message>
    <message>
        <source>ID number</source>
        <translation>Số định danh</translation>
    </message>
    <message>
        <source>Certificate</source>
        <translation>Giấy chứng nhận</translation>
    </message>
    <message>
        <source>Parcel</source>
        <translation>Thửa đất</translation>
    </message>
    <message>
        <source>National parcel ID</source>
        <translation>Mã thửa đất quốc gia</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Địa chỉ</translation>
    </message>
    <message>
        <source>Search</source>
        <translation>Tìm kiếm</translation>
    </message>
    <message>
        <source>Name, ID number, certificate, sheet and parcel, address…</source>
        <translation>Tên, số định danh, số GCN, tờ và thửa, địa chỉ…</translation>
    </message>
    <message>
        <source>Searching…</source>
        <translation>Đang tìm…</translation>
    </message>
    <message>
        <source>Nothing found in your area</source>
        <translation>Không tìm thấy trong địa bàn của bạn</translation>
    </message>
    <message>
        <source>Search failed: %1</source>
        <translation>Tìm kiếm lỗi: %1</translation>
    </message>
</context>
<context>
    <name>SummaryPanel</name>
    <message>
        <source>Administrative units</source>
        <translation>Đơn vị hành chính</translation>
    </message>
    <message>
        <source>Map sheets</source>
        <translation>Tờ bản đồ</translation>
    </message>
    <message>
        <source>Parcels</source>
        <translation>Thửa đất</translation>
    </message>
    <message>
        <source>Land users and owners</source>
        <translation>Chủ sử dụng đất, chủ sở hữu</translation>
    </message>
    <message>
        <source>Certificates</source>
        <translation>Giấy chứng nhận</translation>
    </message>
    <message>
        <source>Land rights</source>
        <translation>Quyền sử dụng đất</translation>
    </message>
    <message>
        <source>Mutations</source>
        <translation>Biến động</translation>
    </message>
    <message>
        <source>Priced road segments</source>
        <translation>Đoạn đường (bảng giá đất)</translation>
    </message>
    <message>
        <source>Planning zones</source>
        <translation>Khu vực quy hoạch</translation>
    </message>
    <message>
        <source>Inventory periods</source>
        <translation>Kỳ thống kê, kiểm kê</translation>
    </message>
    <message>
        <source>Scanned documents</source>
        <translation>Hồ sơ quét</translation>
    </message>
    <message>
        <source>The map will be shown here</source>
        <translation>Bản đồ sẽ hiển thị ở đây</translation>
    </message>
    <message>
        <source>The map canvas comes in a later version. This is the store you are connected to.</source>
        <translation>Khung bản đồ có trong phiên bản sau. Dưới đây là cơ sở dữ liệu đang kết nối.</translation>
    </message>
    <message>
        <source>Reading the store summary…</source>
        <translation>Đang đọc thông tin cơ sở dữ liệu…</translation>
    </message>
    <message>
        <source>Province</source>
        <translation>Tỉnh</translation>
    </message>
    <message>
        <source>not set</source>
        <translation>chưa khai báo</translation>
    </message>
    <message>
        <source>not set yet</source>
        <translation>chưa khai báo</translation>
    </message>
    <message>
        <source>Coordinate system</source>
        <translation>Hệ tọa độ</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>chưa cài đặt</translation>
    </message>
    <message>
        <source>Store</source>
        <translation>Cơ sở dữ liệu</translation>
    </message>
    <message>
        <source>{db} on {address} — PostgreSQL {pg}, PostGIS {postgis}</source>
        <translation>{db} tại {address} — PostgreSQL {pg}, PostGIS {postgis}</translation>
    </message>
    <message>
        <source>Records</source>
        <translation>Số bản ghi</translation>
    </message>
    <message>
        <source>no LandRec tables in this database yet</source>
        <translation>cơ sở dữ liệu chưa có bảng nào của LandRec</translation>
    </message>
    <message>
        <source>estimate from the table statistics</source>
        <translation>ước tính theo thống kê của bảng</translation>
    </message>
    <message>
        <source>Cannot read the store: {error}</source>
        <translation>Không đọc được cơ sở dữ liệu: {error}</translation>
    </message>
</context>
<context>
    <name>Totp</name>
    <message>
        <source>Two-factor authentication</source>
        <translation>Xác thực hai lớp</translation>
    </message>
    <message>
        <source>Administrator functions need a second factor. Enter the 6-digit code from your authenticator app.</source>
        <translation>Chức năng quản trị cần xác thực hai lớp. Hãy nhập mã 6 chữ số trên ứng dụng xác thực của bạn.</translation>
    </message>
    <message>
        <source>Verify</source>
        <translation>Xác thực</translation>
    </message>
    <message>
        <source>Continue without administration</source>
        <translation>Tiếp tục, không dùng chức năng quản trị</translation>
    </message>
    <message>
        <source>Enter all 6 digits.</source>
        <translation>Hãy nhập đủ 6 chữ số.</translation>
    </message>
    <message>
        <source>Checking the code…</source>
        <translation>Đang kiểm tra mã…</translation>
    </message>
    <message>
        <source>The code is wrong or has expired. Enter the current code.</source>
        <translation>Mã không đúng hoặc đã hết hạn. Hãy nhập mã hiện tại.</translation>
    </message>
</context>
</TS>
